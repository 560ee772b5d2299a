"""Cut a provider's OpenAPI document down to the operations Forewarn calls.

    python tests/contract/specs/trim.py SOURCE.json OUT.json 'post /v3/mail/send' ...

Keeps the named operations (path-level keys such as ``parameters`` and ``servers``
too), every component they reference, directly or through other components, and
the document's top-level keys (info, servers, security schemes). Works on
OpenAPI 3 (``#/components/...``) and Swagger 2.0 (``#/definitions/...``,
``#/parameters/...``, ``#/responses/...``) alike: a ``$ref`` names its own path.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Top-level sections that hold referenced components; the rest is kept whole.
COMPONENT_SECTIONS = {"components", "definitions", "parameters", "responses"}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def pointer(document: dict[str, Any], ref: str) -> list[str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
    node: Any = document
    for part in parts:
        node = node[part]  # a KeyError here means a dangling $ref in the source
    return parts


def trim(document: dict[str, Any], operations: list[tuple[str, str]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in operations:
        item = document["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k not in METHODS})
        kept[method] = item[method]
    out: dict[str, Any] = {k: v for k, v in document.items() if k not in COMPONENT_SECTIONS}
    out["paths"] = paths
    if "tags" in out:
        used = {t for op in (paths[p][m] for m, p in operations) for t in op.get("tags", [])}
        out["tags"] = [t for t in out["tags"] if t["name"] in used]
    schemes = document.get("components", {}).get("securitySchemes")
    if schemes:  # OpenAPI 3 names them in `security`, never by $ref (Swagger 2 keeps them on top)
        out["components"] = {"securitySchemes": schemes}
    pending = list(refs(paths))
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = pointer(document, ref)
        source: Any = document
        target: Any = out
        for part in parts[:-1]:
            source = source[part]
            target = target.setdefault(part, {})
        target[parts[-1]] = source[parts[-1]]
        pending.extend(refs(source[parts[-1]]))
    return out


def main(argv: list[str]) -> None:
    source, target, *wanted = argv
    document = json.loads(Path(source).read_text())
    operations = [(m.lower(), p) for m, p in (w.split(" ", 1) for w in wanted)]
    trimmed = trim(document, operations)
    Path(target).write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
