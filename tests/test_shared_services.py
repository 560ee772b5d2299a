"""A run of the suite on shared PostgreSQL and Redis waits for another run, and stops
what a killed run left behind (``tests/shared_services.py``)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests import shared_services


def urls() -> list[str]:
    tag = secrets.token_hex(4)
    return [f"postgresql+asyncpg://nobody@127.0.0.1:9/{tag}", f"redis://127.0.0.1:9/{tag}"]


def test_a_second_run_on_the_same_services_waits_for_the_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = urls()
    first = shared_services.take(shared)
    monkeypatch.setattr(shared_services, "WAIT_SECONDS", 1.5)
    try:
        with pytest.raises(RuntimeError, match="another test run kept"):
            shared_services.take(list(reversed(shared)))
        assert "waiting for another test run on" in capsys.readouterr().err
        shared_services.take([shared[0], f"{shared[1]}0"]).close()  # other services: no wait
    finally:
        first.close()
    shared_services.take(shared).close()  # released with its file


@pytest.mark.parametrize("name", ["FOREWARN_DATABASE_URL", "FOREWARN_REDIS_URL"])
def test_a_process_left_running_on_the_same_services_is_stopped(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = urls()
    url = shared[0] if name == "FOREWARN_DATABASE_URL" else shared[1]
    left = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env=os.environ | {name: url},
        start_new_session=True,
    )
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env=os.environ | {name: f"{url}-other"},
    )
    try:
        shared_services.take(shared).close()
        assert left.wait(10) == -9
        assert f"stopped process {left.pid}" in capsys.readouterr().err
        assert bystander.poll() is None
    finally:
        for process in (left, bystander):
            process.kill()
            process.wait()
