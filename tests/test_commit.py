"""The site folder is one whole build after any crash, and --clean deletes only digest's files.

A build killed (SIGKILL, for real) at any step of moving its files into place leaves the old
site, the new one, or a journal that the next build finishes from: never a mix of the two.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.build.run import build
from digest.build.writer import JOURNAL, MANIFEST, recover, staging_folder
from digest.project import Project
from tests.conftest import SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]

KILLED_AT_MOVE = """
import os, signal, sys
from digest.cli import main
real, count, limit = os.replace, [0], int(sys.argv[1])
def replace(source, target):
    if ".staging" not in str(target):  # a move into the site, not a write while staging
        count[0] += 1
        if count[0] == limit:
            os.kill(os.getpid(), signal.SIGKILL)
    real(source, target)
os.replace = replace
sys.exit(main(sys.argv[2:]))
"""
"""Run ``digest`` and SIGKILL it just before its Nth move of a file into the site."""


def tree(folder: Path) -> dict[str, str]:
    """Map each file of a built site to its content hash (bookkeeping files left out)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, JOURNAL)
    }


def set_title(root: Path, title: str) -> None:
    config = root / "content" / "digest.yaml"
    config.write_text(config.read_text().replace("title: Tiny digest", f"title: {title}"))


@pytest.fixture
def versions(tiny: Path, tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A built tiny project whose next build changes every page; both sites' files."""
    build(Project.find(tiny))
    old = tree(tiny / "site")
    reference = tmp_path / "reference"
    shutil.copytree(tiny, reference)
    set_title(reference, "Renamed digest")
    shutil.rmtree(reference / "site")
    build(Project.find(reference))
    new = tree(reference / "site")
    assert sum(old.get(path) != digest for path, digest in new.items()) > 25
    set_title(tiny, "Renamed digest")
    return tiny, old, new


@pytest.mark.parametrize("kill_at", [1, 2, 10, 25, "last file", "manifest"])
def test_a_build_killed_while_moving_files_in_leaves_a_whole_site(
    versions: tuple[Path, dict[str, str], dict[str, str]], kill_at: int | str
) -> None:
    root, old, new = versions
    moves = sum(old.get(path) != digest for path, digest in new.items())
    limit = {"last file": moves, "manifest": moves + 1}.get(str(kill_at), kill_at)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AT_MOVE, str(limit), "build"], cwd=root, capture_output=True
    )
    assert done.returncode == -9, done.stderr  # really killed
    site = root / "site"
    journal = staging_folder(site) / JOURNAL
    assert tree(site) in (old, new) or journal.is_file(), "a mixed site and no journal"
    assert recover(site) == journal.exists() or not journal.exists()
    assert tree(site) in (old, new)
    assert not journal.exists()


def test_the_next_build_finishes_a_killed_commit(
    versions: tuple[Path, dict[str, str], dict[str, str]], cli: Cli
) -> None:
    root, old, new = versions
    subprocess.run([sys.executable, "-c", KILLED_AT_MOVE, "12", "build"], cwd=root)
    assert (staging_folder(root / "site") / JOURNAL).is_file()
    result = cli("build", cwd=root)
    assert result.code == 0, result.err
    assert tree(root / "site") == new
    assert not staging_folder(root / "site").exists()


def test_clean_keeps_a_deploy_folders_own_files(tiny: Path, cli: Cli, tmp_path: Path) -> None:
    """--clean deleted CNAME, .nojekyll, the whole .git/ and a user's own files."""
    out = tmp_path / "deploy"
    theirs = {
        "CNAME": "digest.example.org\n",
        ".nojekyll": "",
        ".git/HEAD": "ref: refs/heads/main\n",
        ".git/objects/ab/cdef": "x",
        "notes/mine.txt": "keep me",
        "days/my-extra.html": "mine too",
    }
    for name, text in theirs.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    for clean in (False, True, True):
        result = cli("build", "--out", out, *(["--clean"] if clean else []), cwd=tiny)
        assert result.code == 0, result.err
    (tiny / "content" / "digests" / "2024-01-16.md").unlink()
    (tiny / "content" / "raw" / "day2.txt").unlink()
    result = cli("build", "--out", out, "--clean", cwd=tiny)
    assert result.code == 0, result.err
    for name, text in theirs.items():
        assert (out / name).read_text() == text, name
    assert not (out / "days" / "2024-01-16.html").exists()  # digest's own stale page: gone
    assert (out / "days" / "2024-01-15.html").exists()


def test_out_pointing_at_a_file_is_a_clear_error(tiny: Path, cli: Cli) -> None:
    (tiny / "afile").write_text("mine")
    result = cli("build", "--out", "afile", cwd=tiny)
    assert result.code != 0
    assert result.err.startswith("digest: error: ") and result.err.count("\n") == 1
    assert "is a file" in result.err
    assert (tiny / "afile").read_text() == "mine"


def test_a_killed_ingests_temporary_pages_are_removed_by_the_next_command(
    project: Path, cli: Cli
) -> None:
    assert cli("ingest", SAMPLE_FILES["001"], cwd=project).code == 0
    digests = project / "content" / "digests"
    leftovers = [digests / ".2024-04-24.md.k1l2m3.tmp", digests / ".2024-03-17.md.x9y8.tmp"]
    for leftover in leftovers:
        leftover.write_text("half a page")
    assert cli("ingest", SAMPLE_FILES["002"], cwd=project).code == 0
    assert not any(p.exists() for p in leftovers)
    expected = [".themes-applied", "2024-03-17.md", "2024-04-24.md"]  # pages and the rules' note
    assert sorted(os.listdir(digests)) == expected


def test_a_file_digest_did_not_write_is_never_overwritten(
    tiny: Path, cli: Cli, tmp_path: Path
) -> None:
    """A deploy folder's own robots.txt was replaced by the first build into it."""
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (out / "CNAME").write_text("digest.example.org\n")
    result = cli("build", "--out", out, cwd=tiny)
    assert result.code == 1
    assert "would overwrite robots.txt, which digest did not write" in result.err
    assert (out / "robots.txt").read_text() == "User-agent: *\nDisallow: /private/\n"
    assert sorted(p.name for p in out.iterdir()) == ["CNAME", "robots.txt"]  # nothing else yet
    assert not staging_folder(out).exists()
    (out / "robots.txt").unlink()  # moved away: the build goes ahead, and owns its robots.txt
    assert cli("build", "--out", out, cwd=tiny).code == 0
    assert (out / "robots.txt").is_file() and (out / "CNAME").is_file()
