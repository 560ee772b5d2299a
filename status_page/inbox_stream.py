"""One SSE stream of a user's inbox: every message exactly once, in id order, gaps said.

Events (``text/event-stream``, WHATWG HTML "Server-sent events"); every one carries
``id``, the stream's cursor: the highest message id sent so far. A browser's
EventSource sends it back as ``Last-Event-ID`` when it reconnects, and the stream
first replays every message of the user above it, oldest first, in pages of
``REPLAY_PAGE`` (no cap).

- ``message``: a new message (``InboxMessageOut`` without ``read_at`` and ``rating``).
- ``counts``: ``{"unread": n, "unseen": n, "total": n}``, sent when the stream opens,
  after a catch-up and whenever the user's read state changes (a mark in any tab, on
  any web process).
- ``resync``: ``{"reason": "redis" | "slow"}``: live events were missed (Redis was away,
  or the client read too slowly). What was missed follows at once (``message`` events,
  then ``counts``); a page that shows read markers should list the inbox again.

Why "every message above the cursor" is exact: ids are in commit order per user
(``notifier.inbox_order``). Live events may still come out of order or not at all;
each names its predecessor, and one whose predecessor was not sent makes the stream
read the inbox above its cursor instead of sending it. A stream opened without
``Last-Event-ID`` starts from the user's newest message as it opens (``newest``; its
first ``counts`` event carries that id).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict

from aiohttp_sse import EventSourceResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import inbox, inbox_order
from notifier.tables import InboxMessage
from status_page.keys import InboxListener
from status_page.live import Behind, Counts, Item, Message

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]
# Messages read from the inbox at a time when catching up.
REPLAY_PAGE = 100
# For the inbox API's OpenAPI description: the stream is not an operation of it.
DOCUMENTED = (
    "Live updates: `GET /inbox/stream?user=...&hash=...` or `?token=...` (Server-Sent "
    "Events; EventSource cannot send headers; a fetch() client may send the user token as "
    "`Authorization: Bearer` instead, keeping it out of URLs and logs). Every event's "
    "`id` is the stream's cursor: send it back as "
    "`Last-Event-ID` (EventSource does) and every message stored after it is replayed "
    "first, oldest first, however many. Events: `message` (a new message: id, title, "
    "body, url, created_at); `counts` "
    '(`{"unread": n, "unseen": n, "total": n}`: when the stream opens, after a '
    "catch-up, and whenever the user's read state changes in any tab); `resync` "
    '(`{"reason": "redis" | "slow"}`: live events were missed; what was missed follows '
    "at once as `message` events and then `counts`; a page that shows read markers "
    "lists the inbox again)."
)


class _Stream:
    def __init__(self, sse: EventSourceResponse, user_id: str, sessions: Sessions) -> None:
        self.sse = sse
        self.user_id = user_id
        self.sessions = sessions
        self.seen = 0  # the highest message id sent: the SSE id of every event

    async def start(self, last_id: int) -> None:
        self.seen = last_id
        await self.catch_up()
        await self.counts()

    async def live(self, message: Message) -> None:
        if message.id <= self.seen:
            return  # sent already, from the inbox
        if message.prev is not None and message.prev <= self.seen:
            await self.send("message", message.data)
        else:
            await self.catch_up()  # its predecessor is late or lost: the inbox has both

    async def resync(self, reason: Behind) -> None:
        await self.send("resync", {"reason": str(reason)})
        sent = await self.catch_up()
        await self.counts()
        if reason is Behind.SLOW:
            log.info("a slow in-app stream caught up: %d messages from the inbox", sent)

    async def catch_up(self) -> int:
        """Send every message above the cursor, oldest first; how many."""
        sent = 0
        while True:
            async with self.sessions() as session:
                rows = await inbox_order.after(session, self.user_id, self.seen, limit=REPLAY_PAGE)
            for row in rows:
                await self.send("message", inbox.event(row))
            sent += len(rows)
            if len(rows) < REPLAY_PAGE:
                return sent

    async def counts(self) -> None:
        async with self.sessions() as session:
            found = await inbox.counts(session, self.user_id)
        await self.send("counts", asdict(found))

    async def send(self, kind: str, data: dict[str, object]) -> None:
        if kind == "message":
            self.seen = max(self.seen, int(str(data["id"])))
        text = json.dumps(data, ensure_ascii=False)
        await self.sse.send(text, id=str(self.seen), event=kind)


async def newest(sessions: Sessions, user_id: str) -> int:
    """The id of the user's newest message (0 for none): where a stream opened without
    ``Last-Event-ID`` starts. Read it before listening: a message committed later has a
    higher id (``notifier.inbox_order``), so the replay that follows finds it if its live
    event came before the stream listened."""
    async with sessions() as session:
        found = await session.scalar(
            select(func.max(InboxMessage.id)).where(InboxMessage.user_id == user_id)
        )
    return found or 0


async def relay(
    sse: EventSourceResponse, listener: InboxListener, sessions: Sessions, last_id: int
) -> None:
    """Send every message of the user above ``last_id`` (``Last-Event-ID``, or ``newest``
    before listening), then the stream's live events, until the client goes or the
    process shuts down.

    Call it inside ``Inboxes.listen``: events published while the replay is read are
    queued, and those already sent are skipped by id.
    """
    closed = asyncio.ensure_future(sse.wait())
    stream = _Stream(sse, listener.user_id, sessions)
    try:
        await sse.write(b": connected\r\n\r\n")  # headers out now, not at the first heartbeat
        await stream.start(last_id)
        while (item := await _next(listener.queue, closed)) is not None:
            if listener.behind is not None:
                if _drain(listener.queue):
                    return  # the process is shutting down
                await stream.resync(Behind(listener.take_behind()))
            elif isinstance(item, Message):
                await stream.live(item)
            elif isinstance(item, Counts):
                await stream.counts()
    except (ConnectionResetError, TimeoutError):
        pass  # the client went away
    finally:
        closed.cancel()


def _drain(queue: asyncio.Queue[Item]) -> bool:
    # What is queued is in the inbox too: the catch-up that follows sends it once.
    ended = False
    while not queue.empty():
        ended = ended or queue.get_nowait() is None
    return ended


async def _next(queue: asyncio.Queue[Item], closed: asyncio.Future[None]) -> Item:
    getter = asyncio.ensure_future(queue.get())
    await asyncio.wait((getter, closed), return_when=asyncio.FIRST_COMPLETED)
    if closed.done():
        getter.cancel()
        return None
    return getter.result()
