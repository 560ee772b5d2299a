"""The dev outbox: each recipient's message stored as they would receive it, and the
newest shown first."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.delivery.channels.base import Content, Recipient, Sent
from notifier.delivery.channels.outbox import OutboxChannel, latest

Sessions = async_sessionmaker[AsyncSession]


async def test_each_recipient_gets_their_own_message_in_the_outbox(sessions: Sessions) -> None:
    content = Content(subject="Incident: %%greeting%%", text="%%greeting%% it is down", html="")
    recipients = [
        Recipient(0, "ann@example.com", {"greeting": "Hi Ann,"}),
        Recipient(0, "bob@example.com", {"greeting": "Hi Bob,"}),
    ]
    outcomes = await OutboxChannel("email", sessions).send(content, recipients)
    assert all(isinstance(o, Sent) and o.provider_id.startswith("outbox-") for o in outcomes)
    assert all(isinstance(o, Sent) and o.segments is None for o in outcomes)
    async with sessions() as session:
        shown = [(m.channel, m.to, m.subject, m.body) for m in await latest(session)]
    assert shown == [
        ("email", "bob@example.com", "Incident: Hi Bob,", "Hi Bob, it is down"),
        ("email", "ann@example.com", "Incident: Hi Ann,", "Hi Ann, it is down"),
    ]


async def test_a_text_counts_its_segments_and_is_shown_by_channel(sessions: Sessions) -> None:
    [sent] = await OutboxChannel("sms", sessions).send(
        Content(subject="", text="x" * 161), [Recipient(0, "+14155550000")]
    )
    assert isinstance(sent, Sent)
    assert sent.segments == 2  # 161 GSM-7 characters: two 153-character parts
    await OutboxChannel("email", sessions).send(
        Content(subject="s", text="t"), [Recipient(0, "ann@example.com")]
    )
    async with sessions() as session:
        texts = await latest(session, channel="sms")
        assert [m.to for m in texts] == ["+14155550000"]
        assert [m.channel for m in await latest(session, limit=1)] == ["email"]
