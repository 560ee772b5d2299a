"""Where this process keeps its Prometheus figures, and the registry ``/metrics`` reads.

One process (``forewarn run``): in memory, prometheus-client's default registry.
Several (web and worker processes, ``FOREWARN_METRICS__DIR`` set): each writes its
figures to files of its own in that shared directory (prometheus-client's multiprocess
mode) and a web process's ``/metrics`` adds up every file there, so one scrape shows
what the workers did too. Counters and histograms only: they add up across processes
(a gauge would need a rule per gauge); what is read at scrape time (the queue's depth)
is computed by the web process then, not written to files.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead


def share(directory: str) -> None:
    """Keep this process's figures in files under ``directory`` from now on (created if
    missing). Call it once at start, before anything is counted: a figure already
    counted in memory stays there.

    Files are named after the host name and the process id, not the id alone: in
    containers sharing the directory every main process is pid 1.
    """
    Path(directory).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        lambda: _identity(os.getpid())
    )


def ended(directory: str, pid: int) -> None:
    """Mark the files of process ``pid`` of this host (in ``directory``) as those of a
    process that ended, as prometheus-client asks of whoever starts the processes (its
    multiprocess mode: a live gauge's files go; counters and histograms stay, summed)."""
    mark_process_dead(_identity(pid), directory)  # type: ignore[no-untyped-call]


def _identity(pid: int) -> str:
    host = socket.gethostname().replace("_", "-")
    return f"{host}-{pid}"


def registry(directory: str) -> CollectorRegistry:
    """What ``/metrics`` shows: the sum of every process's files in ``directory``, or
    with none (empty) this process's own figures."""
    if not directory:
        return REGISTRY
    Path(directory).mkdir(parents=True, exist_ok=True)
    shared = CollectorRegistry()
    MultiProcessCollector(shared, path=directory)  # type: ignore[no-untyped-call]
    return shared
