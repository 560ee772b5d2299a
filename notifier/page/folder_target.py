"""The folder target: releases side by side, and ``current`` switched at once.

Layout (the contract the shipped nginx configuration is written against)::

    DIR/releases/<release-id>/...   each release written whole before it is used
    DIR/current -> releases/<id>    a relative symlink, replaced atomically

The switch is ``symlink(current.tmp)`` then ``rename(current.tmp, current)``: rename(2)
replaces the link in one step, so a reader resolving ``current`` finds the old release
or the new one, whole, never a mix and never nothing. The last ``KEEP`` releases stay,
so a reader who resolved ``current`` just before a switch still finds every file of
the release it is reading; older ones are deleted.

A file whose bytes the current release already has (same path, same sha256 in its
manifest) is a hard link to that file rather than a new copy: most of a release is
unchanged from the one before, and a link costs less than a write. The link keeps the
file's time (when those bytes were first published), so nginx's ``ETag`` and
``Last-Modified`` for it stay the same; a file is never changed once written, so the
two releases cannot tell.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from pathlib import Path

from notifier.page.snapshot import MANIFEST, Release

log = logging.getLogger(__name__)

KEEP = 3
CURRENT = "current"
RELEASES = "releases"


class FolderTarget:
    """Publishes releases under ``directory`` (created if missing)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    async def publish(self, release: Release) -> None:
        """Write ``release`` whole, point ``current`` at it, delete releases past ``KEEP``.
        Raises ``OSError`` (the release published before stays current)."""
        await asyncio.to_thread(self._publish, release)

    def current(self) -> Path | None:
        """The release folder ``current`` points at now, or None before the first."""
        link = self.directory / CURRENT
        if not link.is_symlink():
            return None
        return (self.directory / os.readlink(link)).resolve()

    def _publish(self, release: Release) -> None:
        releases = self.directory / RELEASES
        folder = releases / release.id
        before = self.current()
        unchanged = self._published(before)
        folder.mkdir(parents=True)
        stamp = release.published_at.timestamp()
        for file in release.files:
            path = folder / file.path
            path.parent.mkdir(parents=True, exist_ok=True)
            if before is not None and unchanged.get(file.path) == file.sha256:
                try:
                    os.link(before / file.path, path)
                    continue
                except OSError:
                    pass  # pruned meanwhile, or a file system without links: write it
            path.write_bytes(file.body)
            # One time for a file and its .gz: nginx's gzip_static serves either.
            os.utime(path, (stamp, stamp))
        link = self.directory / CURRENT
        staged = self.directory / (CURRENT + ".tmp")
        staged.unlink(missing_ok=True)
        staged.symlink_to(Path(RELEASES) / release.id, target_is_directory=True)
        os.replace(staged, link)
        self._prune(releases, keep=release.id)

    @staticmethod
    def _published(release: Path | None) -> dict[str, str]:
        """Path to sha256 of the files ``release``'s manifest lists; empty if unreadable."""
        if release is None:
            return {}
        try:
            files = json.loads((release / MANIFEST).read_bytes())["files"]
            return {str(f["path"]): str(f["sha256"]) for f in files}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _prune(self, releases: Path, keep: str) -> None:
        # Ids sort by time; the one just published is never deleted, whatever the clock did.
        names = sorted(p.name for p in releases.iterdir() if p.is_dir())
        old = [n for n in names if n != keep][: max(len(names) - KEEP, 0)]
        for name in old:
            shutil.rmtree(releases / name, ignore_errors=True)
            log.debug("deleted old release %s", name)
