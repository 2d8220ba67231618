"""An incremental build after any edit equals a clean build: no page is ever left stale.

Rebuilds skip pages whose data did not change (keys in the manifest) and skip everything when
no input changed; these tests hold that to the only standard that matters, a fresh build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.build.run import build
from digest.build.writer import MANIFEST
from digest.project import Project
from tests.conftest import REPO

DAY3 = """Jan 17

A Third Day Paper on Vector Quantization Codebooks

We learn a vector quantization codebook for discrete latent tokens, a VQ bottleneck.

NeRV-Lite: Neural Representations for Videos on Phones

We represent each video as a neural network that maps frame indices to frames, an implicit \
neural representation that compresses video 3x better than HEVC.
"""


def tree(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def add_day(root: Path) -> None:
    (root / "content/raw/day3.txt").write_text(DAY3)


def note_and_move(root: Path) -> None:
    page = root / "content/digests/2024-01-15.md"
    text = page.read_text()
    assert "-scaled tasks.\n" in text
    text = text.replace("-scaled tasks.\n", "-scaled tasks.\n\nA note.\n", 1)
    start = text.index("### A Study of Café")
    block = text[start:]
    text = text[:start]
    text = text.replace(
        "## Quantization {#quantization}\n\n", "## Quantization {#quantization}\n\n" + block + "\n"
    )
    page.write_text(text)


def note_and_intro(root: Path) -> None:
    """Only notes: the build plans the day pages alone and keeps every other file."""
    page = root / "content/digests/2024-01-16.md"
    text = page.read_text()
    start = text.index("\n### ")
    end = text.find("\n### ", start + 1)
    text = text[:end].rstrip("\n") + "\n\nA note on the *first* paper.\n" + text[end:]
    page.write_text(text.replace("\n## ", "\nA word on this day.\n\n## ", 1))


def delete_day(root: Path) -> None:
    (root / "content/digests/2024-01-16.md").unlink()
    (root / "content/raw/day2.txt").unlink()


def edit_template(root: Path) -> None:
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates/_header.html").write_text(
        (Path(__file__).parent.parent / "templates/_header.html").read_text() + "<!-- edited -->\n"
    )


def edit_config(root: Path) -> None:
    config = root / "content/digest.yaml"
    config.write_text(config.read_text().replace("Tiny digest", "Tiny digest, renamed"))


def edit_title_in_place(root: Path) -> None:
    page = root / "content/digests/2024-01-15.md"
    page.write_text(page.read_text().replace("### NeRV-Lite: Neural", "### NeRV-Lite (v2): Neural"))


EDITS: list[Callable[[Path], None]] = [
    add_day,
    note_and_move,
    note_and_intro,
    edit_title_in_place,
    delete_day,
    edit_template,
    edit_config,
]


def test_incremental_builds_match_clean_builds_after_each_edit(tiny: Path, tmp_path: Path) -> None:
    project = Project.find(tiny)
    build(project)
    for step, edit in enumerate(EDITS):
        edit(tiny)
        later = os.stat(tiny / "content/digest.yaml").st_mtime_ns + 1_000_000
        for path in (tiny / "content").rglob("*"):  # make every edit visible to stamps
            if path.is_file():
                os.utime(path, ns=(later, later))
        incremental = build(project)
        clean = build(project, out=tmp_path / f"clean-{step}", clean=True)
        assert tree(tiny / "site") == tree(tmp_path / f"clean-{step}"), edit.__name__
        assert incremental.written < clean.written or edit in (edit_template, edit_config)


def test_no_op_rebuild_touches_nothing(tiny: Path) -> None:
    project = Project.find(tiny)
    build(project)
    again = build(project)
    assert (again.written, again.removed) == (0, 0) and again.unchanged > 20


def test_a_deleted_output_file_is_restored(tiny: Path) -> None:
    project = Project.find(tiny)
    build(project)
    (tiny / "site/index.html").unlink()
    build(project)
    assert (tiny / "site/index.html").is_file()


def test_a_note_alone_plans_and_writes_its_day_page_alone(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digest.build.full as full

    project = Project.find(tiny)
    build(project)
    planned: list[int] = []
    real = full.plan_search
    monkeypatch.setattr(full, "plan_search", lambda *a: planned.append(1) or real(*a))
    note_and_intro(tiny)
    report = build(project)
    assert (report.written, report.removed, planned) == (1, 0, [])
    assert "A word on this day." in (tiny / "site/days/2024-01-16.html").read_text()


def test_a_note_on_an_older_day_renders_that_day_alone(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the home page (it shows the latest day's cards) nor any other day."""
    from digest.site.views import Views

    project = Project.find(tiny)
    build(project)
    made: list[str] = []
    real_day, real_home = Views.day, Views.home
    monkeypatch.setattr(
        Views, "day", lambda self, d, *a: made.append(str(d.date)) or real_day(self, d, *a)
    )
    monkeypatch.setattr(Views, "home", lambda self: made.append("home") or real_home(self))
    page = tiny / "content/digests/2024-01-15.md"
    page.write_text(page.read_text() + "\nA note at the end of the older day.\n")
    assert build(project).written == 1 and made == ["2024-01-15"]
    made.clear()
    note_and_intro(tiny)  # the latest day: its page and the home page
    assert build(project).written == 1 and made == ["home", "2024-01-16"]


BESIDE_SPY = """
import os, sys
from pathlib import Path
import digest.build.full as full
from digest.build.run import build
from digest.errors import DigestError
from digest.project import Project

class Watched(full.Beside):
    def __init__(self, *args):
        super().__init__(*args)
        print("beside", self._process.pid != os.getpid())

def broken(plan):
    raise DigestError("no space left for the index")

full.Beside = Watched
if sys.argv[2:] == ["fail"]:
    full.index_files = broken  # in the child, which the fork gives the same module
try:
    build(Project.find(Path(sys.argv[1])))
except DigestError as exc:
    print("error", exc.message)
"""


def test_a_new_day_does_its_search_work_beside_the_pages(tiny: Path, tmp_path: Path) -> None:
    """In a process of its own, while this one plans and renders: the same files. (Run in a
    process of its own: a test process with other threads does not fork.)"""
    project = Project.find(tiny)
    build(project)
    add_day(tiny)
    spy = [sys.executable, "-c", BESIDE_SPY, str(tiny)]
    done = subprocess.run(spy, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["beside True"]
    build(project, out=tmp_path / "clean", clean=True)
    assert tree(tiny / "site") == tree(tmp_path / "clean")


def test_a_failure_beside_the_pages_fails_the_build_and_keeps_the_site(tiny: Path) -> None:
    """The child's error comes back to the parent, which fails the build: the old site stays."""
    project = Project.find(tiny)
    build(project)
    before = tree(tiny / "site")
    add_day(tiny)
    spy = [sys.executable, "-c", BESIDE_SPY, str(tiny), "fail"]
    done = subprocess.run(spy, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["beside True", "error no space left for the index"]
    assert tree(tiny / "site") == before
    build(project)
    assert "2024-01-17" in (tiny / "site" / "archive.html").read_text()
