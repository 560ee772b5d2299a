"""The arq worker: settings and thin jobs that call into ``notifier``."""

from workers.settings import create_worker

__all__ = ["create_worker"]
