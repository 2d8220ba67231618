"""Commands that write a project, run at the same time as real processes, lose nothing.

Each scenario is the one benchmarks/harden_trials.py repeats many times (before the project
lock: build+ingest lost the 50 ingested papers in 8 of 10 trials, two builds crashed with
FileNotFoundError in 6 of 10); here each runs twice, with the second command started at once
and a little later.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.lock import project_lock
from digest.project import Project
from digest.serve.preview import Preview
from tests.conftest import REPO, SAMPLE_FILES
from tests.test_serve import Served, Terminal, wait_until

sys.path.insert(0, str(REPO / "benchmarks"))
import harden_trials  # noqa: E402

sys.path.remove(str(REPO / "benchmarks"))


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_a_build_and_an_ingest_at_once_lose_no_paper(tmp_path: Path, delay: float) -> None:
    outcome = harden_trials.build_and_ingest(tmp_path / "proj", None, delay)
    assert outcome.ok, outcome.detail


@pytest.mark.parametrize("delay", [0.0, 0.2])
def test_two_builds_at_once_both_succeed_with_a_whole_site(tmp_path: Path, delay: float) -> None:
    outcome = harden_trials.two_builds(tmp_path / "proj", None, delay)
    assert outcome.ok, outcome.detail


def _digest(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], cwd=root, capture_output=True, text=True,
        env={**os.environ, **env}, timeout=60,
    )  # fmt: skip


def test_a_second_writer_says_who_it_waits_for_then_goes_on(project: Path) -> None:
    lock = Project.find(project).lock_path
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with project_lock(lock, "build"):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    done = _digest(project, "ingest", str(SAMPLE_FILES["001"]))
    holder.join()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1.0
    assert done.stderr == (
        f"digest: waiting for `digest build` (pid {os.getpid()}) to finish writing this "
        "project...\n"
    )
    assert "67 new papers, written" in done.stdout


def test_a_second_writer_gives_up_after_the_timeout_and_writes_nothing(project: Path) -> None:
    with project_lock(Project.find(project).lock_path, "ingest"):
        started = time.monotonic()
        done = _digest(project, "build", DIGEST_LOCK_TIMEOUT="0.5")
        waited = time.monotonic() - started
    assert done.returncode == 1
    assert 0.5 <= waited < 10
    assert done.stderr.splitlines()[-1] == (
        f"digest: error: gave up after 0.5 s waiting for `digest ingest` (pid {os.getpid()}) "
        "to finish writing this project (set DIGEST_LOCK_TIMEOUT to wait longer); "
        "nothing was written"
    )
    assert not (project / "site").exists()
    assert not list((project / "content" / "digests").glob("*.md"))


def test_a_killed_holder_releases_the_lock(project: Path) -> None:
    """flock is the kernel's: a SIGKILLed holder leaves no stale lock behind."""
    lock = Project.find(project).lock_path
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom digest.lock import project_lock\n"
        "with project_lock(Path(sys.argv[1]), 'build'):\n    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    done = _digest(project, "ingest", str(SAMPLE_FILES["001"]), DIGEST_LOCK_TIMEOUT="2")
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    terminal = Terminal()
    with Preview(project, port=0, say=terminal.out.append, warn=terminal.err.append) as preview:
        yield Served(project, preview, terminal)


def test_an_ingest_while_the_preview_server_ingests_a_dropped_dump(served: Served) -> None:
    root = served.root
    (root / "content" / "raw" / "001.txt").write_bytes(SAMPLE_FILES["001"].read_bytes())
    done = _digest(root, "ingest", str(SAMPLE_FILES["002"]))
    assert done.returncode == 0, done.stderr
    wait_until(lambda: (root / "content" / "digests" / "2024-04-24.md").exists(), timeout=20)
    wait_until(lambda: b"2024-03-17" in served.get("/archive.html"), timeout=20)
    wait_until(lambda: b"2024-04-24" in served.get("/archive.html"), timeout=20)
    pages = {p.name: p.read_text() for p in (root / "content" / "digests").glob("*.md")}
    assert pages["2024-04-24.md"].count("\n### ") == 67
    assert pages["2024-03-17.md"].count("\n### ") == 66
