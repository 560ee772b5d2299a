"""Hand-made mutations of the delivery engine, each run against the tests (issue 10, part 4).

Each mutation in ``bench/mutations.toml`` replaces one exact, unique snippet of one
file and runs the tests named for it (``-x``: the first failure is enough), then, if
none failed, the wider set; the file is restored with ``git checkout`` after each.
A mutation that no test notices is a behaviour nobody checks: write the test, do
not weaken the mutation.

    .venv/bin/python -m bench.mutations              # every mutation
    .venv/bin/python -m bench.mutations 3 17         # only these numbers
    .venv/bin/python -m bench.mutations --list       # what would be applied, and where

Runs on SQLite and embedded Redis (the test variables are removed from the
environment). Refuses to touch a file with uncommitted changes: ``git checkout``
would lose them. Prints one line per mutation and, last, one JSON line.

What counts as killed: pytest's exit 1 with a ``FAILED`` or ``ERROR`` line naming a
test (``path::name``): a test ran and failed, or its set-up did. Anything else is not
a test noticing the fault:

- exit 2 with errors during collection, or 4 with an ImportError loading a
  ``conftest.py``: the mutated module does not import, so no test ran the fault it
  names. The suite is checked to collect before any mutation,
  so the mutation itself is at fault (a name it uses is not imported, a broken
  statement): reported as ``broken``, neither killed nor survived; rewrite it.
- exit 2 otherwise (interrupted), 3 (internal error), 4 otherwise (a named test
  path does not exist, a usage error), 5 (no tests collected), or 1 with no failing test line: the
  run stops, the file restored, with a message saying which tests and why.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [str(ROOT / ".venv" / "bin" / "pytest"), "-x", "-q", "-p", "no:cacheprovider"]
# Where the delivery engine is exercised; run when a mutation's own tests miss it.
WIDE = [
    "tests/notifier",
    "tests/workers",
    "tests/status_page/test_webhooks.py",
    "tests/status_page/test_manage.py",
    "tests/status_page/test_subscribe.py",
    "tests/status_page/test_inbox.py",
    "tests/status_page/api/v1/test_customers.py",
    "tests/status_page/api/v1/test_problems.py",
]
TIMEOUT = 600
GIT = shutil.which("git") or "git"
# pytest's output of the last killing run of each set of tests, to read when a kill looks unrelated.
LOGS = Path(tempfile.gettempdir()) / "forewarn-mutations"


@dataclass(frozen=True)
class Mutation:
    file: str
    find: str
    replace: str
    what: str
    tests: tuple[str, ...] = ()
    # Why no test can tell it apart (an equivalent mutation), when that was found.
    equivalent: str = ""


TABLE = Path(__file__).with_name("mutations.toml")


def load() -> list[Mutation]:
    """The mutations of ``mutations.toml``, in its order (numbered from 1)."""
    with TABLE.open("rb") as f:
        rows = tomllib.load(f)["mutation"]
    return [
        Mutation(
            r["file"],
            r["find"],
            r["replace"],
            r["what"],
            tuple(r.get("tests", ())),
            r.get("equivalent", ""),
        )
        for r in rows
    ]


def _dirty(path: str) -> bool:
    result = subprocess.run(  # noqa: S603  (our own fixed arguments)
        [GIT, "status", "--porcelain", "--", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return bool(result.stdout.strip())


def _restore(path: str) -> None:
    subprocess.run([GIT, "checkout", "--", path], cwd=ROOT, check=True)  # noqa: S603


class Aborted(SystemExit):
    """pytest ended in a way that is no verdict on a mutation (see the module's text)."""


# pytest's exit codes: https://docs.pytest.org/en/stable/reference/exit-codes.html
TESTS_FAILED, INTERRUPTED, USAGE_ERROR = 1, 2, 4
# A failing test in the short summary: "FAILED path::name - ..." or "ERROR path::name".
FAILING = re.compile(r"^(?:FAILED|ERROR) (\S+::\S+)", re.MULTILINE)
COLLECTION = re.compile(r"errors? during collection")
CONFTEST = re.compile(r"^ImportError while loading conftest", re.MULTILINE)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_TEST_")}


def _pytest(paths: list[str]) -> tuple[str, str]:
    """('killed' | 'survived' | 'timeout' | 'broken', the first failing test or why).
    Raises ``Aborted`` when pytest's exit is no verdict (see the module's text)."""
    try:
        done = subprocess.run(  # noqa: S603  (our own fixed arguments)
            [*PYTEST, *paths], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return "timeout", ""
    if done.returncode == 0:
        return "survived", ""
    LOGS.mkdir(exist_ok=True)
    log = LOGS / f"{'_'.join(paths)[:60].replace('/', '.')}.log"
    log.write_text(done.stdout + done.stderr)
    failed = FAILING.search(done.stdout)
    if done.returncode == TESTS_FAILED and failed:
        return "killed", failed.group(1)
    output = done.stdout + done.stderr
    if (done.returncode == INTERRUPTED and COLLECTION.search(output)) or (
        done.returncode == USAGE_ERROR and CONFTEST.search(output)
    ):
        return "broken", f"the mutated code does not import: see {log}"
    tail = output.strip().splitlines()[-3:]
    raise Aborted(
        f"pytest exit {done.returncode} on {' '.join(paths)}: not a test failing "
        f"(4: a path that does not exist or a usage error; 5: no tests collected; "
        f"2: interrupted; 3: internal error). Last lines: {' | '.join(tail)}. Log: {log}"
    )


def _collects(paths: list[str]) -> None:
    """Abort unless every test path named collects with no mutation applied: a
    collection error met later is then the mutation's."""
    done = subprocess.run(  # noqa: S603  (our own fixed arguments)
        [*PYTEST, "--collect-only", *paths],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise Aborted(
            f"the tests do not collect without any mutation (pytest exit {done.returncode}): "
            + " | ".join(tail)
        )


def run(number: int, mutation: Mutation) -> dict[str, object]:
    path = ROOT / mutation.file
    source = path.read_text()
    found = source.count(mutation.find)
    line = source[: source.find(mutation.find)].count("\n") + 1 if found else 0
    record: dict[str, object] = {
        "n": number,
        "file": mutation.file,
        "line": line,
        "what": mutation.what,
    }
    if found != 1:
        record.update(result="not applicable", by=f"snippet found {found} times")
        return record
    if _dirty(mutation.file):
        raise SystemExit(f"{mutation.file} has uncommitted changes: refusing to mutate it")
    path.write_text(source.replace(mutation.find, mutation.replace))
    started = time.monotonic()
    try:
        result, by = ("survived", "")
        if mutation.tests:
            result, by = _pytest(list(mutation.tests))
        if result == "survived":
            result, by = _pytest(WIDE)
    finally:
        _restore(mutation.file)
    if result == "survived" and mutation.equivalent:
        result, by = "survived (equivalent)", mutation.equivalent
    record.update(result=result, by=by, seconds=round(time.monotonic() - started, 1))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("numbers", nargs="*", type=int, help="only these mutations (1-based)")
    parser.add_argument("--list", action="store_true", help="show the mutations, run nothing")
    args = parser.parse_args()
    mutations = load()
    chosen = args.numbers or range(1, len(mutations) + 1)
    if not args.list:
        named = {t for n in chosen for t in mutations[n - 1].tests}
        _collects(sorted(named | set(WIDE)))
    records = []
    for number in chosen:
        mutation = mutations[number - 1]
        if args.list:
            source = (ROOT / mutation.file).read_text()
            line = source[: source.find(mutation.find)].count("\n") + 1
            ok = "ok" if source.count(mutation.find) == 1 else "NOT FOUND"
            print(f"{number:3} {mutation.file}:{line} {mutation.what} [{ok}]")
            continue
        record = run(number, mutation)
        records.append(record)
        print(
            f"{number:3} {record['file']}:{record['line']} {record['what']}: "
            f"{record['result']} {record.get('by', '')}",
            flush=True,
        )
    if records:
        counts = {
            key: sum(1 for r in records if r["result"] == result)
            for key, result in (
                ("killed", "killed"),
                ("equivalent", "survived (equivalent)"),
                ("survived", "survived"),
                ("broken", "broken"),
            )
        }
        print(json.dumps({"tried": len(records), **counts, "mutations": records}))
    sys.exit(0)


if __name__ == "__main__":
    main()
