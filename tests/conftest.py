"""Shared fixtures: the test copies of the sample dumps and throw-away digest projects.

Tests read their own data under ``tests/data/`` (a frozen copy of the sample dumps and settings,
the ``tiny`` project of the golden files), never the repository's ``content/``: a user editing
the sample project must not break the suite.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from digest.cli import main
from digest.site.replan import CHECK_PLAN

os.environ[CHECK_PLAN] = "1"  # every rebuild checks its plan by difference against the full plan

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = DATA / "samples"
SETTINGS = DATA / "project" / "digest.yaml"
TINY = DATA / "tiny"
SAMPLE_FILES = {
    "000": SAMPLES / "2024-10-21-000_5b4857cc01f2c5fc.txt",
    "001": SAMPLES / "001_0a8254aedcd5c906.txt",
    "002": SAMPLES / "002_11315c5a169bd424.txt",
    "003": SAMPLES / "003_2fd8d41cbceeff47.txt",
}


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def make_project(root: Path) -> Path:
    """Create a project with the test settings and the packaged themes, and no digests."""
    from digest.project import default_themes

    (root / "content" / "raw").mkdir(parents=True)
    shutil.copy(SETTINGS, root / "content" / "digest.yaml")
    shutil.copy(default_themes(), root / "content" / "themes.yaml")
    return root


def benchmark_module(name: str) -> ModuleType:
    """Import a script of ``benchmarks/`` (a folder of scripts, not a package): the corpus
    generator, or a benchmark whose parts a test checks."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Return a fresh project folder with the test settings and themes, and no digests."""
    return make_project(tmp_path / "proj")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Return a copy of the two-day ``tiny`` project the golden files are built from."""
    root = tmp_path / "tiny"
    shutil.copytree(TINY, root)
    return root


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run ``digest`` in-process (same entry point as the console script) in a given folder."""

    def run(*args: str | Path, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A real headless Chromium (Debian's), driven by Playwright; `.ci/test` installs it."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is missing: run `bash .ci/test`, which installs it"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the shipped sample project once into a temporary copy; return its site folder."""
    from digest.build.run import build
    from digest.project import Project

    root = tmp_path_factory.mktemp("sample") / "proj"
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "content" / "raw", root / "content" / "raw")
    for name in ("digest.yaml", "themes.yaml"):
        shutil.copy(REPO / "content" / name, root / "content" / name)
    build(Project.find(root))
    return root / "site"
