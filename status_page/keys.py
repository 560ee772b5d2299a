"""Typed keys of everything the application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from config import Settings

if TYPE_CHECKING:
    from status_page.cache import PageCache
    from status_page.html import Templates
    from status_page.live import Inboxes

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
TEMPLATES: web.AppKey[Templates] = web.AppKey("templates")
QUEUE = web.AppKey("queue", ArqRedis)
INBOXES: web.AppKey[Inboxes] = web.AppKey("inboxes")
PAGE_CACHE: web.AppKey[PageCache] = web.AppKey("page_cache")
