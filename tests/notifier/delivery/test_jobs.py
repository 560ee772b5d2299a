"""The job owner's ids: one per unit of work, so arq de-duplicates a job enqueued twice."""

from __future__ import annotations

from arq import create_pool
from arq.jobs import Job

from config import Settings
from notifier.delivery import jobs
from notifier.delivery.fanout import Batch


def test_a_batch_id_names_its_channel_and_its_first_and_last_delivery() -> None:
    assert jobs.send_batch_id(Batch("sms", [3, 4, 9])) == "send:sms:3:9"
    assert jobs.send_batch_id(Batch("email", [3, 4, 9])) != jobs.send_batch_id(
        Batch("sms", [3, 4, 9])
    )


async def test_enqueueing_the_same_work_twice_queues_one_job(settings: Settings) -> None:
    assert settings.redis_url
    pool = await create_pool(jobs.redis_settings(settings.redis_url))
    try:
        await pool.flushdb()
        await jobs.enqueue_fan_outs(pool, ["n1", "n1"])
        await jobs.enqueue_batches(pool, [Batch("sms", [1, 2]), Batch("sms", [1, 2])])
        await jobs.enqueue_signup_messages(pool, ["s1", "s1"])

        queued = sorted(j.function for j in await pool.queued_jobs())
        assert queued == [jobs.FAN_OUT, jobs.SEND_BATCH, jobs.SEND_SIGNUP_MESSAGE]
        fan_out = Job(jobs.fan_out_id("n1"), pool)
        assert (await fan_out.info()) is not None
    finally:
        await pool.flushdb()
        await pool.aclose()
