"""The aiohttp application: public page, ops API and (later) webhooks and feeds."""

from status_page.app import create_app

__all__ = ["create_app"]
