"""The arq worker: settings and thin jobs that call into ``notifier``."""

from workers.restarting import RestartingWorker
from workers.settings import create_worker

__all__ = ["RestartingWorker", "create_worker"]
