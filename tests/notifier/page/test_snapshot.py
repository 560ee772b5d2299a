"""The snapshot's files and the folder target: .gz siblings, the manifest, and a
``current`` that a reader always finds whole, on a real file system."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notifier.page.folder_target import KEEP, FolderTarget
from notifier.page.snapshot import File, SnapshotError, release

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def files(text: str) -> list[File]:
    return [
        File("en/index.html", f"<p>{text}</p>".encode(), "text/html; charset=utf-8", "en"),
        File("ja/index.html", f"<p>{text} 日本語</p>".encode(), "text/html; charset=utf-8", "ja"),
        File("api/v2/summary.json", json.dumps({"t": text}).encode(), "application/json"),
        File("badge.svg", b"<svg/>", "image/svg+xml"),
        File("static/logo.png", b"\x89PNG", "image/png"),
    ]


def verify(folder: Path) -> dict[str, Any]:
    """The release's manifest, after checking every file it lists against its sha256."""
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        body = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["path"]
    return manifest


def test_every_text_file_has_a_gz_sibling_and_the_manifest_lists_them() -> None:
    made = release(files("up"), "gen1", NOW)

    paths = [f.path for f in made.files]
    assert paths[-2:] == ["manifest.json.gz", "manifest.json"]
    for text in ("en/index.html", "ja/index.html", "api/v2/summary.json", "badge.svg"):
        plain = next(f for f in made.files if f.path == text)
        packed = next(f for f in made.files if f.path == text + ".gz")
        assert gzip.decompress(packed.body) == plain.body
        assert packed.encoding == "gzip"
    assert "static/logo.png.gz" not in paths
    manifest = json.loads(made.files[-1].body)
    assert gzip.decompress(made.files[-2].body) == made.files[-1].body
    assert manifest["release"] == made.id
    assert manifest["generation"] == "gen1"
    assert manifest["published_at"] == "2026-12-01T03:00:00Z"
    assert [e["path"] for e in manifest["files"]] == paths[:-2]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "en/../../x", "a//b", "manifest.json", "manifest.json.gz"]
)
def test_a_path_that_could_escape_the_release_is_refused(path: str) -> None:
    with pytest.raises(SnapshotError):
        release([File(path, b"x", "text/plain")], "g", NOW)


async def test_current_points_at_the_newest_release_and_three_are_kept(tmp_path: Path) -> None:
    target = FolderTarget(tmp_path)
    made = [release(files(f"v{n}"), f"gen{n}", NOW + timedelta(seconds=n)) for n in range(5)]

    for each in made:
        await target.publish(each)

    current = tmp_path / "current"
    assert current.is_symlink()
    assert not os.readlink(current).startswith("/")  # relative: the folder can be mounted
    assert verify(current)["release"] == made[-1].id
    assert (current / "en/index.html").read_text() == "<p>v4</p>"
    kept = sorted(p.name for p in (tmp_path / "releases").iterdir())
    assert kept == sorted(r.id for r in made[-KEEP:])
    assert not (tmp_path / "current.tmp").exists()
    stamps = {(current / p).stat().st_mtime for p in ("en/index.html", "en/index.html.gz")}
    assert stamps == {made[-1].published_at.timestamp()}


async def test_a_file_the_current_release_has_is_linked_and_keeps_its_time(
    tmp_path: Path,
) -> None:
    target = FolderTarget(tmp_path)
    first = release(files("up"), "gen1", NOW)
    second = release(files("down"), "gen2", NOW + timedelta(minutes=1))
    await target.publish(first)
    old = tmp_path / "releases" / first.id

    await target.publish(second)

    new = tmp_path / "current"
    assert verify(new)["release"] == second.id
    assert (new / "en/index.html").read_text() == "<p>down</p>"
    assert (old / "en/index.html").read_text() == "<p>up</p>"  # the old release is whole
    for path in ("badge.svg", "badge.svg.gz", "static/logo.png"):  # unchanged bytes
        assert (new / path).samefile(old / path)
        assert (new / path).stat().st_mtime == first.published_at.timestamp()
    for path in ("en/index.html", "en/index.html.gz", "api/v2/summary.json"):
        assert not (new / path).samefile(old / path)
        assert (new / path).stat().st_mtime == second.published_at.timestamp()
    # Pruning the release a file was linked from leaves the file where it is still used.
    for n in range(KEEP):
        await target.publish(release(files(f"v{n}"), f"gen{n}", NOW + timedelta(hours=n + 1)))
    assert not old.exists()
    assert verify(new)["release"] != second.id
    assert (new / "badge.svg").read_bytes() == b"<svg/>"


async def test_a_reader_during_publications_always_sees_one_whole_release(
    tmp_path: Path,
) -> None:
    target = FolderTarget(tmp_path)
    await target.publish(release(files("v0"), "gen0", NOW))
    stop = threading.Event()
    seen: list[str] = []
    errors: list[BaseException] = []

    def read() -> None:
        # As a server does: resolve `current` once per request, then read from there.
        while not stop.is_set():
            try:
                folder = (tmp_path / "current").resolve()
                manifest = verify(folder)
                text = (folder / "en/index.html").read_text()
                assert manifest["generation"] == "gen" + text.removeprefix("<p>v")[:-4]
                seen.append(manifest["release"])
            except FileNotFoundError:
                continue  # a release pruned while read: three behind, not a mix
            except BaseException as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 40):
            await target.publish(release(files(f"v{n}"), f"gen{n}", NOW + timedelta(seconds=n)))
    finally:
        stop.set()
        reader.join()

    assert not errors
    assert len(set(seen)) > 1
