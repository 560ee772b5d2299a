"""How the ``forewarn`` processes log: text lines for a terminal, or one JSON object a
line for a log shipper (``FOREWARN_LOG_FORMAT=json``), at ``FOREWARN_LOG_LEVEL``.

Messages are what our modules wrote: none carries an address, a number or a token
(``tests/test_logs.py`` runs a whole scenario at DEBUG and scans every line). The
libraries that would are kept above DEBUG here.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

from config import Settings

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose DEBUG (or INFO) lines carry statements' parameters, request URLs or
# bodies: addresses and numbers. They log at WARNING and above whatever the level.
QUIET = (
    "aiosqlite",  # every statement with its parameters
    "sqlalchemy.engine",
    "twilio",  # five lines per request at INFO, the body at DEBUG
    "urllib3",
    "asyncio",
    "markdown_it",  # a line per block rule tried, per rendering: noise
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``process``, and ``exception`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process or os.getpid(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(settings: Settings) -> None:
    """Send the root logger's lines to stderr in ``settings.log_format`` from
    ``settings.log_level`` on, replacing any handler set before."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep the ``QUIET`` libraries' loggers at WARNING and above."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
