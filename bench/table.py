"""One table of every benchmark's figures, from the outputs ``bench/run_all.sh`` kept.

    .venv/bin/python -m bench.table OUTDIR NAME...

Each NAME has ``OUTDIR/NAME.out`` (the benchmark's stdout: its last line is one JSON
value) and ``OUTDIR/NAME.rc`` (exit code and seconds). A benchmark that failed, timed
out or printed no JSON gets one row saying so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str, str]
# Issue 14's targets apply at these sizes (smaller runs show the figure, no target).
LARGE, SMALL = 100_000, 10_000


def _last_json(path: Path) -> Any:
    lines = (
        [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )
    return json.loads(lines[-1]) if lines and lines[-1].lstrip().startswith(("{", "[")) else None


def fanout(name: str, f: dict[str, Any]) -> list[Row]:
    audience = int(f["audience"])
    large = audience >= LARGE
    rows: list[Row] = [
        (name, "audience", f"{audience:,}", "subscribers", ""),
        (name, "first provider request", f"{f['first_request_s']:.2f}", "s", "< 1"),
    ]
    if f["email_per_s"]:
        target = "< 8" if large else ""
        rows.append((name, "every email sent", f"{f['email_all_sent_s']:.2f}", "s", target))
    if f["sms_count"]:
        share = f["sms_per_s"] / f["sms_raw_per_s"] if f["sms_raw_per_s"] else 0.0
        rows.append(
            (name, "texts / raw client", f"{100 * share:.0f}", "%", ">= 70"),
        )
    rows += [
        (name, "worker CPU", f"{f['worker_cpu_s']:.1f}", "s", ""),
        (name, "worker peak RSS", f"{f['peak_rss_mb']:.0f}", "MB", ""),
        (name, "duplicates", str(f["duplicates"]), "messages", "0"),
        (name, "complete", str(f["complete"]), "", "True"),
    ]
    if "bench_cpu_s" in f:
        rows.append((name, "bench process CPU (fakes, web)", f"{f['bench_cpu_s']:.1f}", "s", ""))
    if "load_average" in f:  # wall times mean little on a loaded machine
        rows.append((name, "load average at the end", f"{f['load_average']}", "", ""))
    return rows


def killed(name: str, results: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for r in results:
        label = f"{name} ({r['mode']})"
        in_flight = r["unrecorded_texts"] + r["unrecorded_emails"]
        rows += [
            (label, "lost", str(r["lost"]), "messages", "0"),
            (label, "duplicates", str(r["duplicate_texts"] + r["duplicate_emails"]), "", ""),
            (label, "in flight at the kill", str(in_flight), "messages", ""),
            (label, "duplicates beyond those", str(r["duplicates_outside_unrecorded"]), "", "0"),
            (label, "every message after the kill", f"{r['last_arrival_after_kill_s']}", "s", ""),
        ]
    return rows


def page(name: str, f: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for prefix, path in (("", "/"), ("summary_", "summary.json")):
        rows += [
            (name, f"{path} req/s", f"{f[prefix + 'rps']:,}", "req/s", ""),
            (
                name,
                f"{path} share of nginx",
                f"{100 * f[prefix + 'share_of_nginx']:.0f}",
                "%",
                ">= 50",
            ),
            (
                name,
                f"{path} p99 during fan-out",
                f"{f[prefix + 'p99_ms_during_fanout']}",
                "ms",
                "< 100",
            ),
        ]
    rows.append((name, "fresh after updates", str(f["fresh"]), "", "True"))
    return rows


def mutations(name: str, f: dict[str, Any]) -> list[Row]:
    return [
        (name, key, str(f[key]), "mutations", "0" if key in ("survived", "broken") else "")
        for key in ("tried", "killed", "equivalent", "survived", "broken")
    ]


def snapshot(name: str, f: dict[str, Any]) -> list[Row]:
    return [
        (name, "files published (with .gz)", str(f["files"]), "files", ""),
        (name, "first publication", f"{f['first_s']:.2f}", "s", ""),
        (name, "publication, median of the rest", f"{f['median_s']:.2f}", "s", "< 1"),
    ]


def inapp(name: str, f: dict[str, Any]) -> list[Row]:
    label = f"{name} ({f['streams']:,} streams)"
    return [
        (label, "message after, p50", str(f["p50_ms"]), "ms", ""),
        (label, "message after, p99", str(f["p99_ms"]), "ms", ""),
        (label, "memory per open stream", str(f["kb_per_stream"]), "KB", ""),
        (label, "lost", str(f["lost"]), "messages", "0"),
        (label, "duplicated", str(f["duplicated"]), "messages", "0"),
    ]


def web_restart(name: str, f: dict[str, Any]) -> list[Row]:
    runs = f["runs"]
    serving = [r["serving_s"] for r in runs]
    return [
        (
            name,
            f"child killed -9 ({len(runs)} times), new one serving",
            f"{max(serving):.2f}",
            "s (max)",
            "",
        ),
        (name, "requests refused", str(sum(r["refused"] for r in runs)), "requests", "0"),
        (name, "requests failed", str(sum(r["failed"] for r in runs)), "requests", "0"),
    ]


def rows_of(name: str, figures: Any) -> list[Row]:
    if name.startswith("fanout"):
        return fanout(name, figures)
    if name == "killed":
        return killed(name, figures)
    if name == "page":
        return page(name, figures)
    if name == "web_restart":
        return web_restart(name, figures)
    if name == "snapshot":
        return snapshot(name, figures)
    if name.startswith("inapp"):
        return inapp(name, figures)
    return mutations(name, figures)


def memory_ratio(found: dict[str, Any]) -> list[Row]:
    """Peak RSS of the largest email fan-out over the smallest (issue 14: within 1.1x
    from 10,000 to 100,000)."""
    runs = sorted(
        (f["audience"], f["peak_rss_mb"])
        for name, f in found.items()
        if name.startswith("fanout") and "sms_only" not in name and f and f.get("complete")
    )
    if len(runs) < 2 or runs[0][1] == 0:
        return []
    (small, low), (large, high) = runs[0], runs[-1]
    target = "<= 1.10" if (small, large) == (SMALL, LARGE) else ""
    figure = f"peak RSS {large:,} / {small:,}"
    return [("fanout", figure, f"{high / low:.2f}", "x", target)]


def main() -> None:
    out, names = Path(sys.argv[1]), sys.argv[2:]
    rows: list[Row] = []
    found: dict[str, Any] = {}
    for name in names:
        rc_file = out / f"{name}.rc"
        found_rc = rc_file.read_text().split() if rc_file.exists() else []
        code, seconds = [*found_rc, "?", "?"][:2]
        figures = None
        try:
            figures = _last_json(out / f"{name}.out")
            produced = rows_of(name, figures) if figures is not None else []
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            produced = [
                (name, "FAILED", f"unreadable figures ({type(exc).__name__}: {exc})", "", "")
            ]
        if code != "0" or not produced:
            why = "timed out" if code in ("124", "137") else f"exit {code}"
            produced.insert(0, (name, "FAILED", f"{why} after {seconds} s", "", f"see {name}.err"))
        found[name] = figures
        rows += produced
    rows += memory_ratio(found)
    header: Row = ("benchmark", "figure", "value", "unit", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
