"""The wheel (what the Docker image and a ``pip install`` run) carries every file the code reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("config", "notifier", "status_page", "workers", "forewarn")
# Read at run time from beside the code: message and page templates, translations,
# static files, Alembic's environment and versions.
DATA = {".txt", ".html", ".po", ".css", ".js", ".svg", ".ini", ".mako"}


def test_the_wheel_holds_every_template_translation_and_migration(tmp_path: Path) -> None:
    # From a copy of the sources: a build/ left in the checkout would hide a missing glob.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *PACKAGES):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    subprocess.run(  # noqa: S603  (our own fixed arguments)
        # Offline, with the venv's own setuptools: tests talk to loopback only.
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index"),
            *("--no-build-isolation", "-w", str(tmp_path), str(source)),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("forewarn-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and (path.suffix in DATA or ("migrations" in path.parts and path.suffix == ".py"))
    }
    assert wanted, "no data files found: the test looks in the wrong place"
    assert sorted(wanted - packed) == []
