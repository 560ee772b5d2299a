"""The worker registers every job its owner declares, under the declared name, and
nothing else: a job enqueued by a name no function answers to would wait forever.
The page's jobs are declared by ``notifier.page.generation`` (which may not import
``notifier.delivery``)."""

from __future__ import annotations

from arq.worker import Function

from notifier.delivery import jobs
from notifier.page import generation
from workers.settings import CRON_JOBS, FUNCTIONS

DECLARED = jobs.NAMES | {generation.PUBLISH_JOB, generation.REFRESH_JOB}


def test_every_declared_job_has_a_function_and_every_function_a_declared_name() -> None:
    registered = [f.name for f in FUNCTIONS if isinstance(f, Function)]

    assert len(registered) == len(FUNCTIONS)  # each one named, none left to arq's guess
    assert sorted(registered) == sorted(DECLARED)


def test_each_cron_job_runs_a_function_registered_under_a_declared_name() -> None:
    by_coroutine = {f.coroutine: f.name for f in FUNCTIONS}

    for cron in CRON_JOBS:
        assert by_coroutine[cron.coroutine] in DECLARED
