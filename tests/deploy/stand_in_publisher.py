"""A stand-in for the worker's publisher (issue 15, parts 1-2, built elsewhere): a
release of the static snapshot in the layout ``deploy/nginx/forewarn.conf`` serves,
made by GET-ing the running app's pages in each language. Replace it with the real
publisher when that lands; only the layout matters to nginx:

    current -> releases/<id>/
    <lang>/index.html, <lang>/history/index.html, <lang>/incidents/<id>/index.html,
    <lang>/maintenance/<id>/index.html, <lang>/paused/index.html, <lang>/404/index.html
    api/v2/*.json, feed.atom, feed.rss, badge.svg, components/<id>/{feed.atom,...}
    a .gz sibling of every text file; manifest.json
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from notifier.page.statuspage_v2 import NAMES
from status_page.i18n import LANGUAGES

# A test client, or a session with a base_url (bench/page.py's running Forewarn).
Client = TestClient[Any, Any] | aiohttp.ClientSession

# The publisher renders its own; these stand in with the texts a visitor must see.
PAUSED = {
    "en": (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Subscriptions are paused"
        "</title><h1>Subscriptions are paused</h1><p>We cannot take sign-ups or changes"
        " right now. <a href=/>The status page</a> is up to date; please try again in a"
        " few minutes.</p></html>"
    ),
    "ja": (
        "<!doctype html><html lang=ja><meta charset=utf-8><title>購読の受付を一時停止して"
        "います</title><h1>購読の受付を一時停止しています</h1><p>ただいま登録や変更を承る"
        "ことができません。<a href=/>ステータスページ</a>は最新です。しばらくしてから"
        "もう一度お試しください。</p></html>"
    ),
}
LANGUAGE_FREE = ("feed.atom", "feed.rss", "badge.svg")


async def _body(client: Client, path: str, status: int = 200) -> bytes:
    response = await client.get(path, allow_redirects=False)
    assert response.status == status, f"{path}: {response.status} {await response.text()}"
    return await response.read()


def _write(release: Path, path: str, body: bytes) -> None:
    target = release / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    target.with_name(target.name + ".gz").write_bytes(gzip.compress(body, mtime=0))


async def publish(client: Client, snapshot: Path, release_id: str) -> Path:
    """Write release ``release_id`` of what ``client``'s app shows now under
    ``snapshot/releases/`` and point ``snapshot/current`` at it (atomically); returns
    the release folder."""
    release = snapshot / "releases" / release_id
    documents = {name: await _body(client, f"/api/v2/{name}") for name in NAMES}
    for name, body in documents.items():
        _write(release, f"api/v2/{name}", body)
    maintenance = [
        m["id"]
        for m in json.loads(documents["scheduled-maintenances.json"])["scheduled_maintenances"]
    ]
    incidents = [
        i["id"]
        for i in json.loads(documents["incidents.json"])["incidents"]
        if i["id"] not in maintenance
    ]
    listed = json.loads(documents["components.json"])["components"]
    components = [c["id"] for c in listed if not c.get("group")]
    pages = [
        "",
        "history",
        *(f"incidents/{i}" for i in incidents),
        *(f"maintenance/{m}" for m in maintenance),
    ]
    for lang in LANGUAGES:
        for page in pages:
            body = await _body(client, f"/{page}?lang={lang}")
            _write(release, f"{lang}/{page}/index.html".replace("//", "/"), body)
        missing = await _body(client, f"/no-such-page?lang={lang}", status=404)
        _write(release, f"{lang}/404/index.html", missing)
        _write(release, f"{lang}/paused/index.html", PAUSED[lang].encode())
    for name in LANGUAGE_FREE:
        _write(release, name, await _body(client, f"/{name}"))
        for component in components:
            path = f"components/{component}/{name}"
            _write(release, path, await _body(client, f"/{path}"))
    manifest = {"release": release_id, "languages": list(LANGUAGES), "pages": pages}
    (release / "manifest.json").write_text(json.dumps(manifest))
    switch(snapshot, release_id)
    return release


def switch(snapshot: Path, release_id: str) -> None:
    """Point ``snapshot/current`` at ``releases/<release_id>`` in one rename (atomic)."""
    link = snapshot / f".current-{release_id}"
    link.symlink_to(Path("releases") / release_id, target_is_directory=True)
    os.replace(link, snapshot / "current")
