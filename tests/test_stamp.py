"""The no-op build answered from its stamp, and never when anything it stands for changed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.build import stamp
from digest.build.run import build
from digest.build.writer import MANIFEST
from digest.project import Project
from tests.conftest import REPO


def settle(site: Path) -> None:
    """Set every folder of the site back ten seconds, as if the build were long past: a stamp
    taken within the file system's clock step of a folder's last change is not trusted."""
    past = time.time_ns() - 10_000_000_000
    for folder in [site, *(p for p in site.rglob("*") if p.is_dir())]:
        os.utime(folder, ns=(past, past))


def settled_build(project: Project) -> None:
    """Build, settle, and build again, which takes a stamp the next build can trust."""
    build(project)
    settle(project.site_dir)
    again = build(project)
    assert again.written == 0 and not again.noop  # the full check ran and found it whole


def test_a_build_with_nothing_to_do_is_answered_from_the_stamp(tiny: Path) -> None:
    project = Project.find(tiny)
    settled_build(project)
    report = build(project)
    assert report.noop and report.written == 0
    site_files = [p for p in project.site_dir.rglob("*") if p.is_file() and p.name != MANIFEST]
    assert report.unchanged == len(site_files)


def test_a_file_deleted_from_the_site_comes_back_though_the_stamp_was_trusted(
    tiny: Path,
) -> None:
    project = Project.find(tiny)
    settled_build(project)
    page = project.site_dir / "index.html"
    page.unlink()
    report = build(project)
    assert not report.noop and report.written == 1 and page.is_file()


def test_a_changed_input_or_setting_builds_though_the_stamp_was_trusted(tiny: Path) -> None:
    project = Project.find(tiny)
    settled_build(project)
    page = sorted(project.digests_dir.glob("*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + "\nA note at the end.\n", "utf-8")
    assert build(project).written >= 1
    settle(project.site_dir)
    build(project)
    assert build(project).noop
    assert not build(project, base_url="https://example.org/d/").noop


def test_a_build_into_another_folder_has_its_own_stamp(tiny: Path) -> None:
    project = Project.find(tiny)
    settled_build(project)
    other = tiny / "elsewhere"
    report = build(project, out=other)
    assert not report.noop and (other / "index.html").is_file()
    assert build(project).noop


def test_a_stamp_taken_right_after_a_change_is_not_trusted(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (out / "papers").mkdir(parents=True)
    where = tmp_path / "stamp.json"
    stamp.record(where, out, "inputs", ["", "papers"], 3)
    assert stamp.current(where, out, "inputs", tmp_path / "staging") is None  # just changed
    settle(out)
    stamp.record(where, out, "inputs", ["", "papers"], 3)
    assert stamp.current(where, out, "inputs", tmp_path / "staging") == 3
    assert stamp.current(where, out, "other inputs", tmp_path / "staging") is None
    (tmp_path / "staging").mkdir()  # a commit of another build under way
    assert stamp.current(where, out, "inputs", tmp_path / "staging") is None


def test_whole_second_times_get_a_wider_window() -> None:
    taken = 10_000_000_000_000
    assert stamp._racy([taken - 1_000_000_000], taken)  # FAT: could still change unseen
    assert not stamp._racy([taken - 1_000_000_001], taken)
    assert not stamp._racy([taken - 3_000_000_000], taken)


def test_a_no_op_build_imports_nothing_of_the_pipeline(tiny: Path) -> None:
    """What makes it quick: the parser, matcher, renderer and index stay unimported."""
    project = Project.find(tiny)
    settled_build(project)
    check = (
        "import sys; from digest.cli import main; code = main(['build']); "
        "heavy = sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['digest', 'site'], ['digest', 'ingest'], ['digest', 'pages']) "
        "or m in ('jinja2', 'markdown', 'regex', 'digest.build.full')); "
        "print(code, heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=tiny, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_a_stamp_that_cannot_be_written_leaves_the_build_done(tiny: Path) -> None:
    project = Project.find(tiny)
    (project.cache_dir).mkdir(parents=True, exist_ok=True)
    (project.cache_dir / "stamps").write_text("a file where the stamps folder goes")
    report = build(project)
    assert report.written > 20 and (project.site_dir / "index.html").is_file()
    assert not build(project).noop  # no stamp: the full check answers, and finds it whole


def test_a_page_saved_by_hand_while_a_build_ingests_is_built_next_time(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build fingerprints its inputs again after writing pages of its own; a page saved
    meanwhile by someone else must not be taken for one it read."""
    import digest.build.full as full

    project = Project.find(tiny)
    (tiny / "content/raw/day2.txt").rename(tiny / "day2.txt")
    build(project)
    settle(project.site_dir)
    page = tiny / "content/digests/2024-01-15.md"
    real = full.retheme

    def saved_meanwhile(*args: object, **kwargs: object) -> object:
        page.write_text(page.read_text() + "\nSaved while the build ran.\n")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(full, "retheme", saved_meanwhile)
    (tiny / "day2.txt").rename(tiny / "content/raw/day2.txt")  # a new day to ingest
    assert build(project).ingested
    monkeypatch.setattr(full, "retheme", real)
    again = build(project)
    assert not again.noop and again.written >= 1
    assert "Saved while the build ran." in (tiny / "site/days/2024-01-15.html").read_text()
