"""What a static snapshot of the public page is: its files, their ``.gz`` siblings and
the manifest, and the targets it is published to.

A snapshot is rendered elsewhere (``status_page.snapshot`` asks the web application
itself for every public URL, so its files are the bytes a visitor gets) and handed
here as ``File``s with release-relative paths:

- ``{lang}/index.html``, ``{lang}/history/index.html`` (and ``{lang}/history/YYYY-MM/
  index.html`` for earlier months), ``{lang}/incidents/{id}/index.html``,
  ``{lang}/maintenance/{id}/index.html``, ``{lang}/paused/index.html``,
  ``{lang}/404/index.html``;
- language-free: ``api/v2/*.json`` (the eight Statuspage v2 documents, their URL paths),
  ``feed.atom``, ``feed.rss``, ``badge.svg``, ``components/{id}/...``, ``static/...``.

``release`` adds a ``.gz`` sibling (gzip level 9) to every text file, for nginx's
``gzip_static``, and ``manifest.json`` (with its own ``.gz``) at the root: the
release id, the page generation it was made for, ``published_at`` (RFC 3339, UTC) and
every other file with its sha256 and size. The targets (``folder_target``, ``s3_target``) take a
``Release`` and make it what readers see, atomically as each can.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

# Text formats get a .gz sibling; images and fonts would not shrink.
TEXT_SUFFIXES = (".html", ".json", ".atom", ".rss", ".svg", ".css", ".js", ".txt", ".xml")
MANIFEST = "manifest.json"
# What a browser, CDN or proxy may keep a published file (as /api/v2's own answers).
CACHE_CONTROL = "public, max-age=10"


@dataclass(frozen=True, slots=True)
class File:
    """One published file: ``path`` relative to the release root (``en/index.html``),
    its bytes, its ``Content-Type`` and, for pages, its language."""

    path: str
    body: bytes
    content_type: str
    language: str | None = None
    # Set on a .gz sibling: the encoding a server announces when it sends it as the plain file.
    encoding: str | None = None

    @property
    def sha256(self) -> str:
        """The hex sha256 of ``body``."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Release:
    """A snapshot ready to publish: ``files`` with their ``.gz`` siblings, then the
    manifest's ``.gz`` and the manifest itself."""

    id: str
    generation: str
    published_at: datetime
    files: list[File] = field(default_factory=list)

    @property
    def content(self) -> list[File]:
        """Every file but the manifest and its ``.gz`` (the two last of ``files``)."""
        return self.files[:-2]

    @property
    def manifest(self) -> list[File]:
        """``manifest.json.gz`` and ``manifest.json``: the two last of ``files``."""
        return self.files[-2:]


@dataclass(frozen=True, slots=True)
class Rendering:
    """The files of one rendering and what each depends on, so that the next rendering
    can reuse the files a change did not touch.

    ``keys`` maps each path to the record ids (and other markers) its bytes depend on,
    besides what every rendering renders again anyway (the renderer decides which);
    ``rendered`` counts the files rendered anew (the others were reused).
    """

    files: list[File]
    keys: dict[str, frozenset[str]] = field(default_factory=dict)
    rendered: int = 0


class Renderer(Protocol):
    """What renders the page's files (``status_page.snapshot.AppRenderer``)."""

    async def start(self) -> None:
        """Get ready to render (a worker calls it at start-up: the first publication is
        then as quick as the others). Raises ``OSError`` if it cannot."""
        ...

    async def render(
        self, touched: frozenset[str] | None = None, previous: Rendering | None = None
    ) -> Rendering:
        """Every public file. With ``touched`` (the ids of the records changed since
        ``previous`` was rendered) and ``previous``, a file whose keys are untouched and
        unchanged is ``previous``' bytes; without them, every file is rendered now.
        Raises ``SnapshotError`` if one cannot be."""
        ...

    async def close(self) -> None:
        """Release what rendering holds (a server, connections); ``render`` may start it again."""
        ...


class Target(Protocol):
    """Where releases are published (a folder, a bucket)."""

    async def publish(self, release: Release) -> None:
        """Make ``release`` what readers see. Raises ``SnapshotError`` or ``OSError``."""
        ...


class SnapshotError(Exception):
    """A snapshot could not be rendered or published; the one published before stays."""


def release_id(now: datetime) -> str:
    """A release id that sorts by time: ``20261201T031500.123456Z-1a2b``."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ-") + secrets.token_hex(2)


def gzipped(body: bytes) -> bytes:
    """``body`` gzipped at level 9 with a zero header time, so the same body always
    gives the same bytes (and an unchanged file the same sha256)."""
    return gzip.compress(body, compresslevel=9, mtime=0)


def release(files: list[File], generation: str, now: datetime) -> Release:
    """``files`` with a ``.gz`` sibling for each text file, and the manifest.

    Raises ``SnapshotError`` for a path twice, an absolute path, a ``..`` part or the
    manifest's own name.
    """
    seen: set[str] = set()
    out: list[File] = []
    for file in files:
        parts = file.path.split("/")
        if file.path in seen or file.path.startswith((MANIFEST, "/")):
            raise SnapshotError(f"bad or repeated snapshot path {file.path!r}")
        if any(part in ("", ".", "..") for part in parts):
            raise SnapshotError(f"bad snapshot path {file.path!r}")
        seen.add(file.path)
        out.append(file)
        if file.path.endswith(TEXT_SUFFIXES):
            out.append(
                File(
                    path=file.path + ".gz",
                    body=gzipped(file.body),
                    content_type=file.content_type,
                    language=file.language,
                    encoding="gzip",
                )
            )
    rid = release_id(now)
    at = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    document = {
        "release": rid,
        "generation": generation,
        "published_at": at,
        "files": [
            {
                "path": f.path,
                "sha256": f.sha256,
                "size": len(f.body),
                "content_type": f.content_type,
                **({"content_encoding": f.encoding} if f.encoding else {}),
                **({"content_language": f.language} if f.language else {}),
            }
            for f in out
        ],
    }
    body = json.dumps(document, indent=1, ensure_ascii=False).encode()
    kind = "application/json"
    out.append(File(MANIFEST + ".gz", gzipped(body), kind, encoding="gzip"))
    out.append(File(MANIFEST, body, kind))
    return Release(id=rid, generation=generation, published_at=now, files=out)
