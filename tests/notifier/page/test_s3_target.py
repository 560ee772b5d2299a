"""The S3 target against a real S3-compatible server on 127.0.0.1 (moto in server mode),
through boto3 and HTTP: what a CDN or bucket website would serve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.server import ThreadedMotoServer
from mypy_boto3_s3 import S3Client

from config import SnapshotSettings
from notifier.page.s3_target import S3Target
from notifier.page.snapshot import File, release

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
BUCKET = "status-page"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # Credentials from the standard AWS environment, as in production.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def s3(url: str) -> S3Client:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1")


def target(url: str) -> S3Target:
    settings = SnapshotSettings.model_validate(
        {
            "target": "s3",
            "s3_bucket": BUCKET,
            "s3_prefix": "/status/",
            "s3_endpoint_url": url,
            "s3_region": "us-east-1",
        }
    )
    return S3Target(settings)


def page(text: str) -> File:
    return File("ja/index.html", f"<p>{text}</p>".encode(), "text/html; charset=utf-8", "ja")


async def test_a_release_is_uploaded_with_the_headers_a_cdn_serves(endpoint: str) -> None:
    made = release(
        [page("稼働中"), File("api/v2/status.json", b"{}", "application/json")], "g1", NOW
    )

    await target(endpoint).publish(made)

    client = s3(endpoint)
    html = client.get_object(Bucket=BUCKET, Key="status/ja/index.html")
    assert html["Body"].read().decode() == "<p>稼働中</p>"
    assert html["ContentType"] == "text/html; charset=utf-8"
    assert html["CacheControl"] == "public, max-age=10"
    assert html["ContentLanguage"] == "ja"
    packed = client.get_object(Bucket=BUCKET, Key="status/ja/index.html.gz")
    assert packed["ContentEncoding"] == "gzip"
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="status/")
    keys = sorted(o["Key"] for o in listed.get("Contents", []))
    assert keys == sorted(
        [
            "status/api/v2/status.json",
            "status/api/v2/status.json.gz",
            "status/ja/index.html",
            "status/ja/index.html.gz",
            "status/manifest.json",
            "status/manifest.json.gz",
        ]
    )
    manifest = json.loads(
        client.get_object(Bucket=BUCKET, Key="status/manifest.json")["Body"].read()
    )
    assert manifest["release"] == made.id


async def test_the_next_release_uploads_what_changed_and_deletes_what_left(endpoint: str) -> None:
    to = target(endpoint)
    feed = File("feed.atom", b"<feed/>", "application/atom+xml")
    private = File("en/incidents/x/index.html", b"<p>secret</p>", "text/html", "en")
    await to.publish(release([page("v1"), feed, private], "g1", NOW))
    client = s3(endpoint)
    # Unchanged files are not sent again: a mark left on one survives the next release.
    client.put_object(Bucket=BUCKET, Key="status/feed.atom", Body=b"not sent again")

    second = release([page("v2"), feed], "g2", NOW + timedelta(seconds=1))
    await to.publish(second)

    def body(key: str) -> bytes:
        return client.get_object(Bucket=BUCKET, Key=f"status/{key}")["Body"].read()

    assert body("ja/index.html") == b"<p>v2</p>"
    assert body("feed.atom") == b"not sent again"
    assert json.loads(body("manifest.json"))["release"] == second.id
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="status/en/")
    assert listed.get("KeyCount") == 0  # the incident made private is gone
