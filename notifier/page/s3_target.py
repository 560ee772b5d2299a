"""The S3 target: the snapshot's files as objects under ``PREFIX/``, for a bucket website
or a CDN far from Forewarn. Any S3-compatible storage (AWS, MinIO, R2, Ceph): boto3,
with an endpoint URL and region from the settings and credentials from the standard
AWS chain (environment, profile, instance role), never from Forewarn's settings.

What atomicity S3 gives, and what is chosen here:

- one PUT is atomic (a reader gets the old object or the new one, whole) and, since
  December 2020, strongly read-after-write consistent; there is no transaction over
  several objects, and no rename.
- So a release is *synchronised* in place, in the key layout of a folder release
  (``PREFIX/en/index.html``, ``PREFIX/api/v2/summary.json``...), not written to a new
  prefix (a CDN or bucket website cannot follow a symlink to it). The previous
  ``PREFIX/manifest.json`` says what is there; only objects whose sha256 changed are
  uploaded: first the language-free documents, feeds, badges and assets, then the
  pages (each ``.gz`` before its plain file), then ``manifest.json`` last, and only
  then are objects that left the page (an incident made private) deleted.
- A reader may, for the seconds an upload takes, see a new page beside an older feed;
  never half an object, and never a page whose newer data is not yet there. The
  manifest names what is complete: a reader that checks it (tests, a sync) sees a
  release only once all of it is there.

Each object carries ``Content-Type``, ``Cache-Control`` (``snapshot.CACHE_CONTROL``),
``Content-Language`` for pages, ``Content-Encoding: gzip`` for ``.gz`` siblings, and
its sha256 as ``x-amz-meta-sha256``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from config import SnapshotSettings
from notifier.page.snapshot import CACHE_CONTROL, MANIFEST, File, Release, SnapshotError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

# Uploads at once (boto3's clients are thread-safe; its pool holds 10 connections).
CONCURRENCY = 8


class S3Target:
    """Publishes releases to ``bucket`` under ``prefix``."""

    def __init__(self, settings: SnapshotSettings) -> None:
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix.strip("/")
        self._client: S3Client = boto3.client(
            "s3",
            endpoint_url=str(settings.s3_endpoint_url) if settings.s3_endpoint_url else None,
            region_name=settings.s3_region or None,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5),
        )

    def key(self, path: str) -> str:
        """The object key of a release-relative ``path``."""
        return f"{self.prefix}/{path}" if self.prefix else path

    async def publish(self, release: Release) -> None:
        """Upload what changed since the last manifest, the manifest last, then delete
        what left. Raises ``SnapshotError`` (the objects uploaded so far stay)."""
        try:
            before = await asyncio.to_thread(self._published)
            changed = [f for f in release.content if before.get(f.path) != f.sha256]
            # Assets and data before the pages that show them; each .gz before its file.
            pages = [f for f in changed if f.path.endswith((".html", ".html.gz"))]
            others = [f for f in changed if f not in pages]
            gz_first = sorted(pages, key=lambda f: (f.path.removesuffix(".gz"), f.encoding is None))
            await self._upload_all(others)
            await self._upload_all(gz_first)
            for file in release.manifest:  # the .gz, then manifest.json itself
                await asyncio.to_thread(self._put, file)
            kept = {f.path for f in release.files}
            gone = [self.key(path) for path in before if path not in kept]
            if gone:
                await asyncio.to_thread(self._delete, gone)
        except (BotoCoreError, ClientError) as exc:
            raise SnapshotError(f"S3 upload to bucket {self.bucket!r} failed: {exc}") from exc
        log.info(
            "snapshot %s: %d of %d objects uploaded, %d deleted",
            release.id,
            len(changed) + 2,
            len(release.files),
            len(gone),
        )

    async def _upload_all(self, files: list[File]) -> None:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(file: File) -> None:
            async with limit:
                await asyncio.to_thread(self._put, file)

        async with asyncio.TaskGroup() as group:
            for file in files:
                group.create_task(one(file))

    def _put(self, file: File) -> None:
        extra: dict[str, Any] = {}
        if file.language:
            extra["ContentLanguage"] = file.language
        if file.encoding:
            extra["ContentEncoding"] = file.encoding
        self._client.put_object(
            Bucket=self.bucket,
            Key=self.key(file.path),
            Body=file.body,
            ContentType=file.content_type,
            CacheControl="no-cache" if file.path.startswith(MANIFEST) else CACHE_CONTROL,
            Metadata={"sha256": file.sha256},
            **extra,
        )

    def _published(self) -> dict[str, str]:
        """Path to sha256 of what the bucket's manifest says is there; empty at first."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.key(MANIFEST))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return {}
            raise
        try:
            files = json.loads(answer["Body"].read())["files"]
            return {str(f["path"]): str(f["sha256"]) for f in files}
        except (ValueError, KeyError, TypeError):
            log.warning("the bucket's manifest does not parse: uploading every file")
            return {}

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys a call
            chunk = keys[start : start + 1000]
            self._client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
