"""One test run at a time on the machine's PostgreSQL and Redis, and nothing left of an
earlier one.

A run on FOREWARN_TEST_DATABASE_URL / FOREWARN_TEST_REDIS_URL truncates the tables
and flushes the Redis database before every test. A second run on the same URLs
would wipe the first one's rows and take its jobs, and so would a ``forewarn worker``
left running by a run that was killed (its processes live in sessions of their own).
So a run first takes a lock file named after the URLs (``flock(2)``, released by the
kernel when the run ends, however it ends), waiting for another run to finish, and then
stops any process still configured with either URL: none of a live run's is left once
it holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

# A whole run of the suite on PostgreSQL takes about 20 minutes on a slow machine.
WAIT_SECONDS = 45 * 60


def take(urls: list[str]) -> IO[bytes]:
    """Hold the machine-wide lock for ``urls`` (the returned file must stay open), then
    SIGKILL every process whose environment names one of them.

    Raises ``RuntimeError`` after ``WAIT_SECONDS`` if another run still holds it.
    """
    digest = hashlib.sha256("\n".join(sorted(urls)).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"forewarn-tests-{digest}.lock"
    lock = path.open("ab")
    deadline = time.monotonic() + WAIT_SECONDS
    told = False
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not told:
                print(f"waiting for another test run on {' and '.join(urls)}", file=sys.stderr)
                told = True
            if time.monotonic() > deadline:
                lock.close()
                raise RuntimeError(f"another test run kept {path} for {WAIT_SECONDS} s") from None
            time.sleep(1)
    for pid in processes_configured_with(urls):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        print(f"stopped process {pid}, left running by an earlier test run", file=sys.stderr)
    return lock


def processes_configured_with(urls: list[str]) -> list[int]:
    """Live processes (other than this one) with ``FOREWARN_DATABASE_URL`` or
    ``FOREWARN_REDIS_URL`` set to one of ``urls`` (read from ``/proc/PID/environ``)."""
    wanted = {
        f"FOREWARN_{name}={url}".encode() for url in urls for name in ("DATABASE_URL", "REDIS_URL")
    }
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if environ & wanted:
            found.append(int(entry.name))
    return found
