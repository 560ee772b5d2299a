"""The ``forewarn`` command: its parser and what each of its commands runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from arq import create_pool
from arq.worker import Worker
from pydantic import SecretStr
from redis.exceptions import RedisError

from config import Settings, SettingsError, load_settings
from forewarn import admin, database, demo, logs, serving, supervisor
from notifier import api_keys, metrics, migrate, notifications, signing
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery.jobs import EmbeddedRedis, enqueue_fan_outs, redis_settings
from notifier.errors import DomainError
from notifier.page import publishing
from notifier.page.publishing import Publisher
from notifier.page.snapshot import SnapshotError
from status_page.snapshot import AppRenderer
from workers import RestartingWorker, liveness

log = logging.getLogger("forewarn")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``forewarn`` command: runs ``argv`` (default: ``sys.argv``); returns the exit
    status (0; 1: a domain, database or listening error, one line; 2: bad settings or
    options; 130: interrupted)."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings)
    if settings.metrics.dir:
        # Before anything is counted: this process's figures go to the shared files.
        metrics.share(settings.metrics.dir)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            result: int = runner.run(args.command(settings, args))
    except (DomainError, database.NoDatabase, serving.CannotListen) as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # uvloop where it exists: the status page serves 10 to 20% more requests a second.
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forewarn",
        description=(
            "Forewarn: a status page, incidents and maintenance, and notifications by SMS, "
            "email and in-app. Settings are FOREWARN_ environment variables or a .env file "
            "in the working directory (see the README)."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {metadata.version('forewarn')}",
        help="print the version and exit",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", title="commands")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text)

    def listening(name: str, text: str) -> argparse.ArgumentParser:
        sub = command(name, text)
        sub.add_argument(
            "--host",
            default="127.0.0.1",
            help="address to listen on (default: %(default)s; 0.0.0.0 or :: for every one)",
        )
        sub.add_argument(
            "--port",
            type=int,
            default=8080,
            help="port to listen on (default: %(default)s; 0: any free port)",
        )
        return sub

    run = listening(
        "run",
        "web and worker in one process, on an embedded Redis unless FOREWARN_REDIS_URL is "
        "set (migrates the database first)",
    )
    run.add_argument("--demo", action="store_true", help="seed demo data into an empty database")
    run.set_defaults(command=run_all)
    web_command = listening("web", "the web process (the database must be migrated)")
    web_command.add_argument(
        "--processes",
        type=int,
        default=1,
        help="web processes serving the port, one core each, kept running by this one "
        "(default: %(default)s)",
    )
    # Set on the processes --processes starts: they serve the parent's socket, say when
    # they do, print nothing, and stop when the parent is gone.
    web_command.add_argument("--parent", type=int, default=0, help=argparse.SUPPRESS)
    web_command.add_argument("--socket-fd", type=int, default=0, help=argparse.SUPPRESS)
    web_command.add_argument("--ready-fd", type=int, default=0, help=argparse.SUPPRESS)
    web_command.set_defaults(command=run_web)
    worker_command = command(
        "worker", "the arq worker: sends messages, runs maintenance steps and housekeeping"
    )
    worker_command.add_argument(
        "--check",
        action="store_true",
        help="do not run a worker: exit 0 if the worker on this host beat within the claim "
        "lease and its database answered, else 1 (a container health check)",
    )
    worker_command.set_defaults(command=run_worker)
    command("migrate", "create or upgrade the database's tables").set_defaults(command=run_migrate)
    command(
        "publish",
        "publish the public page's static snapshot once, now, to FOREWARN_SNAPSHOT__TARGET "
        "(the worker publishes after every change on its own)",
    ).set_defaults(command=run_publish)

    outbox = command("outbox", "show what the dev outbox kept, newest first")
    outbox.add_argument(
        "--limit", type=int, default=20, help="messages to show (default: %(default)s)"
    )
    outbox.add_argument(
        "--channel", choices=["email", "sms"], help="only this channel (default: both)"
    )
    outbox.set_defaults(command=admin.show_outbox)

    command(
        "inapp-secret", "print the secret your application signs in-app user ids with"
    ).set_defaults(command=show_inapp_secret)

    keys = command("api-key", "create, list and revoke ops API keys")
    key_commands = keys.add_subparsers(required=True, metavar="ACTION", title="actions")
    create = key_commands.add_parser(
        "create", help="create a key and print it once", description="create a key"
    )
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'deploy bot'")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=sorted(api_keys.SCOPES),
        help="what the key may do; repeat for several scopes",
    )
    create.set_defaults(command=admin.key_create)
    key_commands.add_parser(
        "list", help="list keys (never the secrets)", description="list keys"
    ).set_defaults(command=admin.key_list)
    revoke = key_commands.add_parser(
        "revoke", help="revoke a key by id or prefix", description="revoke a key"
    )
    revoke.add_argument("key", help="the key's id or its prefix, as `api-key list` shows them")
    revoke.set_defaults(command=admin.key_revoke)

    deliveries = command(
        "deliveries", "deliveries parked because a provider refused our credentials"
    )
    delivery_commands = deliveries.add_subparsers(required=True, metavar="ACTION", title="actions")
    delivery_commands.add_parser(
        "parked", help="count parked deliveries by channel", description="count them"
    ).set_defaults(command=admin.deliveries_parked)
    resume = delivery_commands.add_parser(
        "resume",
        help="send parked deliveries once the credentials are fixed",
        description="hand parked deliveries back to the worker; those past the delivery "
        "deadline fail rather than go out late",
    )
    resume.add_argument(
        "--channel", choices=["email", "sms"], help="only this channel (default: every one)"
    )
    resume.set_defaults(command=admin.deliveries_resume)
    return parser


async def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn migrate``: upgrade the database to the latest Alembic revision."""
    await database.check(settings.database_url, migrated=False)
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def show_inapp_secret(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn inapp-secret``: the secret applications sign in-app user ids with."""
    if own := settings.inbox.secret.get_secret_value():
        print(own)  # FOREWARN_INBOX__SECRET, set to rotate it apart from the secret key
        return 0
    # Derived from the secret key (development: the one kept in the data folder).
    secret = settings.secret_key.get_secret_value() or _dev_secret(settings.data_dir)
    print(signing.inapp_secret(secret))
    return 0


async def run_web(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn web``: the web process until stopped; with ``--processes`` above 1, a
    parent supervising that many (``forewarn.supervisor``); 2 for bad ``--processes``."""
    if args.processes < 1:
        print("forewarn: --processes needs 1 or more", file=sys.stderr)
        return 2
    if args.socket_fd:  # a child of the supervisor
        return await _serve_child(settings, args)
    await database.check(settings.database_url)
    sock = serving.listen(args.host, args.port)
    served = serving.served_url(sock, args.host)
    with _redis(settings) as url:
        settings = serving.following(_runtime(settings, url), served)
        if args.processes > 1:
            return await _supervise(settings, args, sock, served)
        runner = await serving.start_web(settings, sock)
        print(f"status page: {served}/", flush=True)
        try:
            await _until_stopped()
            log.info(
                "stopping: no new connections, finishing requests in flight (%g s at most)",
                settings.web_shutdown_seconds,
            )
        finally:
            await serving.stop_web(runner, settings.web_shutdown_seconds)
    return 0


async def _supervise(
    settings: Settings, args: argparse.Namespace, sock: socket.socket, served: str
) -> int:
    """``--processes N``: N children serving ``sock``, with this process's Redis and
    secret key, until stopped; 1 if they keep failing at start."""
    env = dict(os.environ)
    env.update(
        FOREWARN_REDIS_URL=settings.redis_url,
        FOREWARN_SECRET_KEY=settings.secret_key.get_secret_value(),
    )
    command = [sys.executable, "-m", "forewarn", "web", "--parent", str(os.getpid())]
    command += ["--host", args.host, "--port", str(sock.getsockname()[1])]
    directory = settings.metrics.dir
    parent = supervisor.Supervisor(
        command,
        env,
        sock,
        args.processes,
        stop_seconds=settings.web_shutdown_seconds,
        ended=(lambda pid: metrics.ended(directory, pid)) if directory else lambda pid: None,
    )
    print(f"status page: {served}/", flush=True)
    try:
        return await parent.run()
    except supervisor.GaveUp as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 1


async def _serve_child(settings: Settings, args: argparse.Namespace) -> int:
    """One web process of ``--processes``: serves the parent's socket until SIGTERM (its
    parent passes its own on, and sends one when it ends)."""
    supervisor.follow_parent(args.parent)
    sock = socket.socket(fileno=args.socket_fd)
    settings = serving.following(settings, serving.served_url(sock, args.host))
    runner = await serving.start_web(settings, sock)
    supervisor.tell_ready(args.ready_fd)
    log.info("web process serving")
    try:
        # A second signal is the parent's to act on (Ctrl+C reaches every process).
        await _until_stopped(asyncio.create_task(_orphaned(args.parent)), second=False)
    finally:
        await serving.stop_web(runner, settings.web_shutdown_seconds)
    return 0


async def _orphaned(parent: int) -> None:
    # Where PR_SET_PDEATHSIG is missing; on Linux a backstop.
    while os.getppid() == parent:  # noqa: ASYNC110  (no event tells of a parent's death)
        await asyncio.sleep(1)


async def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn worker``: the arq worker until stopped (the database must be migrated);
    with ``--check``, whether this host's worker is alive (``workers.liveness``)."""
    if args.check:
        return await check_worker(settings)
    await database.check(settings.database_url)
    with _redis(settings) as url:
        # arq's worker stops at a lost Redis; this one starts again when Redis is back.
        settings = _runtime(settings, url)
        working = RestartingWorker(
            settings, url, renderer=_renderer(settings), handle_signals=False
        )
        task = asyncio.create_task(working.run())
        await _until_stopped(task)
        task.cancel()  # it may be waiting to start again
        await _stop_worker(working.worker, settings.worker_shutdown_seconds)
    return 0


async def check_worker(settings: Settings) -> int:
    """``forewarn worker --check``: 0 and ``ok`` when this host's worker is alive and its
    database answers; 1 and why not (also when Redis does not answer); 2 with no Redis URL."""
    if not settings.redis_url:
        print("forewarn: --check needs FOREWARN_REDIS_URL (the worker's Redis)", file=sys.stderr)
        return 2
    # One try, briefly: a health check has a few seconds, and arq's pool retries for five.
    connection = replace(redis_settings(settings.redis_url), conn_retries=0, conn_timeout=3)
    try:
        redis = await create_pool(connection)
        try:
            state = await liveness.check(redis)
        finally:
            await redis.aclose()
    except (RedisError, OSError) as exc:
        state = f"Redis did not answer ({type(exc).__name__})"
    if state != "ok":
        print(f"forewarn: worker not healthy: {state}", file=sys.stderr)
        return 1
    print("ok")
    return 0


async def run_all(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn run``: migrate, then web and worker in one process until stopped."""
    # Listening first: a port in use stops us before the demo seeds anything.
    sock = serving.listen(args.host, args.port)
    base = serving.served_url(sock, args.host)
    await database.check(settings.database_url, migrated=False)
    engine = create_engine(settings.database_url)
    await migrate.upgrade(engine)
    demo_key = None
    async with sessionmaker(engine)() as session:
        async with session.begin():
            if args.demo:
                if await demo.seed(session, now=utcnow()):
                    log.info("seeded demo data")
                _key, demo_key = await api_keys.create_key(session, "demo", ["admin"], now=utcnow())
        seeded = notifications.created_in(session)
    await engine.dispose()
    with _redis(settings, sole_user=True) as url:
        # The worker renders the messages: it takes the same links as the pages.
        settings = serving.following(_runtime(settings, url), base)
        runner = await serving.start_web(settings, sock)
        working = RestartingWorker(
            settings, url, renderer=_renderer(settings), handle_signals=False
        )
        task = asyncio.create_task(working.run())
        if seeded:  # the demo's own updates: straight into the dev outbox
            pool = await create_pool(redis_settings(url))
            await enqueue_fan_outs(pool, seeded)
            await pool.aclose()
        print(f"\nForewarn is running ({'dev outbox' if not settings.production else 'providers'})")
        print(f"  status page:  {base}/")
        print(f"  API base URL: {base}/api/v1")
        print(f"  API docs:     {base}/api/v1/docs")
        if demo_key:
            print(f"  demo API key (admin, shown once): {demo_key}")
        print("Press Ctrl+C to stop.", flush=True)
        await _until_stopped(task)
        task.cancel()  # it may be waiting to start again
        # The web part stops accepting at once; the worker's jobs finish meanwhile.
        await asyncio.gather(
            _stop_worker(working.worker, settings.worker_shutdown_seconds),
            serving.stop_web(runner, settings.web_shutdown_seconds),
        )
    return 0


async def _stop_worker(worker: Worker, grace: float) -> None:
    """Take no new job, let running jobs finish (up to ``grace`` seconds), then stop.

    A job still running after that is cancelled: the provider calls it has made are
    seen through and recorded, what it had claimed and not sent is handed back
    (``notifier.delivery.sending``), and arq puts the job back on the queue, where another
    worker takes it at once (at-least-once), so arq re-raising that cancellation is no
    error here.
    """
    worker.allow_pick_jobs = False
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        if grace:
            log.info("stopping: %d jobs running, waiting up to %g s", len(running), grace)
            await asyncio.wait(running, timeout=grace)
        left = sum(not t.done() for t in running)
        if left:
            log.info("stopping: handing back the unsent work of %d jobs", left)
    try:
        await worker.close()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.warning("stopped with jobs still running; they will run again")


def _renderer(settings: Settings) -> AppRenderer | None:
    """What renders the static page in the worker, when a snapshot target is set."""
    return AppRenderer(settings) if settings.snapshot.publishing else None


async def run_publish(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn publish``: publish the page's static snapshot once, now, to the
    configured target; 2 when the target is off."""
    if not settings.snapshot.publishing:
        print("forewarn: FOREWARN_SNAPSHOT__TARGET is off: nowhere to publish", file=sys.stderr)
        return 2
    await database.check(settings.database_url)
    with _redis(settings) as url:
        settings = _runtime(settings, url)
        renderer = AppRenderer(settings)
        pool = await create_pool(redis_settings(url))
        try:
            publisher = Publisher(
                pool,
                renderer,
                publishing.target(settings.snapshot),
                ZoneInfo(settings.page_time_zone),
            )
            try:
                await renderer.start()
                await publisher.refresh(force=True)
            except (SnapshotError, OSError) as exc:
                print(f"forewarn: could not publish the page: {exc}", file=sys.stderr)
                return 1
        finally:
            await renderer.close()
            await pool.aclose()
    print(f"published the page to the {settings.snapshot.target} target")
    return 0


def _runtime(settings: Settings, redis_url: str) -> Settings:
    """The settings with the Redis in use and, in development, a kept secret key."""
    update: dict[str, Any] = {"redis_url": redis_url}
    if not settings.secret_key.get_secret_value():
        update["secret_key"] = SecretStr(_dev_secret(settings.data_dir))
    return settings.model_copy(update=update)


def _dev_secret(data_dir: str) -> str:
    # Kept in the data folder so links in messages survive a restart (production sets one).
    path = Path(data_dir, "secret_key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


async def _until_stopped(task: asyncio.Task[None] | None = None, *, second: bool = True) -> None:
    """Until SIGINT or SIGTERM, or ``task`` ends (raising what it raised). Then, with
    ``second``, another signal exits at once (``_stop_now``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if task is not None:
        waiters.append(task)
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if second:  # Ctrl+C twice
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop_now, sig)
    if task is not None and task.done() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def _stop_now(sig: signal.Signals) -> None:
    """Exit now, as a killed process would: requests in flight are cut, and what a
    worker claimed and did not send is taken again once its lease lapses."""
    log.warning("stopping at once (%s while stopping)", sig.name)
    logging.shutdown()
    os._exit(128 + sig)


class _redis:
    """The configured Redis URL, or an embedded server for as long as the block runs."""

    def __init__(self, settings: Settings, *, sole_user: bool = False) -> None:
        self._settings = settings
        # `run` is the only user of its server; `web` and `worker` may share one.
        self._sole_user = sole_user
        self._embedded: EmbeddedRedis | None = None

    def __enter__(self) -> str:
        if self._settings.redis_url:
            return self._settings.redis_url
        self._embedded = EmbeddedRedis(self._settings.data_dir)
        return self._embedded.url

    def __exit__(self, *exc: object) -> None:
        if self._embedded is not None:
            self._embedded.close(force=self._sole_user)
