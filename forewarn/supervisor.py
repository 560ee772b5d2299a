"""``forewarn web --processes N``: a parent that only supervises N web processes.

The parent binds the port once and each child serves that same socket, inherited (as
gunicorn's arbiter and uvicorn's multiprocess supervisor do): the port stays open as
long as the parent lives, a connection waiting in the queue is taken by whichever
child accepts first, and one child dying loses only the requests it was handling. The
parent serves nothing, so no request can kill the supervision.

A child that ends is started again: at once if it had served, else after a pause
doubling from ``FIRST_PAUSE`` to ``LONGEST_PAUSE``; after ``START_FAILURES`` failed
starts in a row, if no other child serves, the parent stops every child and gives up
(``GaveUp``), rather than start processes for ever. While another serves it keeps
trying: a replacement that cannot start during a Redis outage must not take the
working one down with it. SIGTERM or SIGINT to the parent is passed to every child,
each drains its own requests, and the parent exits once they have; a second signal
kills them and exits at once. A child ends when the parent does
(``follow_parent``), so none is left holding the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("forewarn.supervisor")
# Seconds before starting a child again after it failed to start: doubling.
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 8.0
# Failed starts in a row (in one slot) after which the parent gives up.
START_FAILURES = 5
# What a child has to exit after its own drain before it is killed.
STOP_MARGIN_SECONDS = 5.0
# Linux prctl(2) option: the signal a process gets when its parent ends.
PR_SET_PDEATHSIG = 1


class GaveUp(Exception):
    """The web processes keep failing at start; the message is one line."""


@dataclass
class _Child:
    process: asyncio.subprocess.Process
    ready: int  # read end of the pipe the child writes one byte to once it serves
    started: float = field(default_factory=time.monotonic)
    serving: bool = False  # it said so (read as soon as it did, by ``watch``)

    def watch(self) -> None:
        """Notice the child's ready byte as it comes, so that the others' slots know
        some process serves (``Supervisor._serving``)."""
        asyncio.get_running_loop().add_reader(self.ready, self._read)

    def _read(self) -> None:
        self.serving = self.serving or os.read(self.ready, 1) == b"1"
        asyncio.get_running_loop().remove_reader(self.ready)

    def served(self) -> bool:
        """Did it say it served? (Call once it has exited: the pipe is then closed.)"""
        try:
            return self.serving or os.read(self.ready, 1) == b"1"
        finally:
            self.close()

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.ready)
        os.close(self.ready)


class Supervisor:
    """Keeps ``count`` children of ``command`` serving ``sock`` until stopped.

    Each child runs ``command`` plus ``--socket-fd FD --ready-fd FD``: it serves the
    inherited socket and writes ``b"1"`` to the ready pipe once it does
    (``tell_ready``). ``ended(pid)`` is called for every child that ended (its
    metrics files are marked dead). ``stop_seconds`` is the children's own drain.
    """

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        sock: socket.socket,
        count: int,
        *,
        stop_seconds: float,
        ended: Callable[[int], None] = lambda pid: None,
    ) -> None:
        self._command = list(command)
        self._env = env
        self._sock = sock
        self._count = count
        self._stop_seconds = stop_seconds
        self._ended = ended
        self._children: dict[int, _Child] = {}

    @property
    def pids(self) -> list[int]:
        return list(self._children)

    async def run(self) -> int:
        """Until SIGTERM or SIGINT: 0 once every child has drained and exited. Raises
        ``GaveUp`` (every child stopped first). A second signal exits the process at
        once with 128 + the signal's number."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        slots = [asyncio.create_task(self._keep()) for _ in range(self._count)]
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([stopping, *slots], return_when=asyncio.FIRST_COMPLETED)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stop_now, sig)
            gave_up = next((s.exception() for s in slots if s.done() and s.exception()), None)
            if gave_up is None:
                log.info(
                    "stopping: no new connections, finishing requests in flight (%g s at most)",
                    self._stop_seconds,
                )
        finally:
            stopping.cancel()
            for slot in slots:
                slot.cancel()
            await asyncio.gather(*slots, return_exceptions=True)
            # The children's copies are the last: once they close them, the port refuses.
            self._sock.close()
            await self._stop_children()
        if gave_up is not None:
            raise gave_up
        return 0

    async def _keep(self) -> None:
        """Keep one child running; raises ``GaveUp``."""
        failures = 0
        while True:
            child = await self._start()
            code = await child.process.wait()
            del self._children[child.process.pid]
            self._ended(child.process.pid)
            how = _how(code)
            if child.served():
                failures = 0
                log.warning(
                    "web process %d ended (%s) after %.0f s; starting another",
                    child.process.pid,
                    how,
                    time.monotonic() - child.started,
                )
                continue
            failures += 1
            if failures >= START_FAILURES and not self._serving():
                raise GaveUp(
                    f"web processes keep failing at start ({failures} in a row, the last "
                    f"{how}); see their errors above"
                )
            pause = min(FIRST_PAUSE * 2 ** (failures - 1), LONGEST_PAUSE)
            log.warning(
                "web process %d failed at start (%s); starting another in %.1f s",
                child.process.pid,
                how,
                pause,
            )
            await asyncio.sleep(pause)

    async def _start(self) -> _Child:
        ready, tell = os.pipe()
        fd = self._sock.fileno()
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command,
                *["--socket-fd", str(fd), "--ready-fd", str(tell)],
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(fd, tell),
            )
        except BaseException:
            os.close(ready)
            raise
        finally:
            os.close(tell)
        child = _Child(process, ready)
        child.watch()
        self._children[process.pid] = child
        return child

    def _serving(self) -> bool:
        # Another process still serves (as through a Redis outage, when a new one cannot
        # start): keep trying every LONGEST_PAUSE rather than stop the one that works.
        return any(child.serving for child in self._children.values())

    async def _stop_children(self) -> None:
        """SIGTERM each child, wait for its drain, kill it past that."""
        children = list(self._children.values())
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
        # One deadline for all: they drain at the same time.
        deadline = asyncio.get_running_loop().time() + self._stop_seconds + STOP_MARGIN_SECONDS
        for child in children:
            try:
                async with asyncio.timeout_at(deadline):
                    await child.process.wait()
            except TimeoutError:
                log.warning("web process %d did not stop in time: killed", child.process.pid)
                child.process.kill()
                await child.process.wait()
            child.close()
            self._ended(child.process.pid)
        self._children.clear()

    def _stop_now(self, sig: signal.Signals) -> None:
        """Exit now, as a killed process would, the children killed first."""
        log.warning("stopping at once (%s while stopping)", sig.name)
        for child in self._children.values():
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
        logging.shutdown()
        os._exit(128 + sig)


def _how(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def follow_parent(parent: int) -> None:
    """In a child: get SIGTERM when ``parent`` ends (Linux ``PR_SET_PDEATHSIG``), so that
    its drain starts then and no orphan keeps the port. Elsewhere a no-op (the caller
    also watches the parent's pid). If the parent is already gone, SIGTERM now."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("cannot ask to end with the parent: errno %d", ctypes.get_errno())
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def tell_ready(fd: int) -> None:
    """In a child: tell the parent it serves (one byte on its ready pipe)."""
    with contextlib.suppress(OSError):
        os.write(fd, b"1")
    os.close(fd)
