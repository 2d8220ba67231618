"""Which file events rebuild the site (a table), debouncing, and the real watchdog observer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePath

import pytest

from digest.serve.watch import Change, Debouncer, Layout, Watcher, classify_event

ROOT = PurePath("/p")
LAYOUT = Layout.of(Path("/p"))
C = "/p/content"
T = "/p/templates"

# (event type, src, dest, is_directory) -> kind of change, or None for "never rebuild"
EVENTS: list[tuple[str, str, str | None, bool, str | None]] = [
    ("modified", f"{C}/digest.yaml", None, False, "config"),
    ("modified", f"{C}/themes.yaml", None, False, "themes"),
    ("created", f"{C}/raw/day3.txt", None, False, "raw"),
    ("deleted", f"{C}/raw/day1.txt", None, False, "raw"),
    ("modified", f"{C}/digests/2024-01-15.md", None, False, "digests"),
    ("modified", f"{T}/day.html", None, False, "templates"),
    ("created", f"{T}/static/extra.css", None, False, "templates"),
    ("deleted", f"{T}/partials", None, True, "templates"),
    ("moved", f"{C}/raw", "/tmp/elsewhere", True, "raw"),
    # atomic saves: a temp file renamed over the real one counts as the real one
    ("moved", f"{C}/digests/.2024-01-15.md.x1.tmp", f"{C}/digests/2024-01-15.md", False, "digests"),
    ("moved", f"{T}/day.html", f"{T}/day.html~", False, "templates"),
    ("moved", "/tmp/download.txt", f"{C}/raw/new.txt", False, "raw"),
    # events that are not changes (watchdog >= 2 emits these; they caused lektor's rebuild loop)
    ("opened", f"{T}/day.html", None, False, None),
    ("closed", f"{T}/day.html", None, False, None),
    ("closed_no_write", f"{T}/day.html", None, False, None),
    ("attrib", f"{T}/day.html", None, False, None),
    # a folder's own created/modified events add nothing to its files' events
    ("modified", f"{C}/digests", None, True, None),
    ("created", f"{T}/partials", None, True, None),
    # editor temp files
    ("created", f"{T}/.day.html.swp", None, False, None),
    ("modified", f"{T}/.day.html.swx", None, False, None),
    ("created", f"{T}/day.html~", None, False, None),
    ("created", f"{T}/#day.html#", None, False, None),
    ("created", f"{T}/.#day.html", None, False, None),
    ("created", f"{T}/4913", None, False, None),
    ("created", f"{C}/.DS_Store", None, False, None),
    ("created", f"{C}/digests/2024-01-15.md.tmp", None, False, None),
    ("created", f"{T}/day.html___jb_tmp___", None, False, None),
    ("moved", f"{T}/day.html", f"{T}/day.html~", False, "templates"),
    ("moved", f"{T}/4913", f"{T}/.day.html.swp", False, None),
    # output, staging and tool folders
    ("modified", "/p/site/index.html", None, False, None),
    ("created", "/p/.site.staging/index.html", None, False, None),
    ("created", "/p/.digest-serve/a/index.html", None, False, None),
    ("created", "/p/.digest-serve/.a.staging/index.html", None, False, None),
    ("modified", f"{T}/__pycache__/x.pyc", None, False, None),
    ("modified", f"{C}/.git/index", None, False, None),
    ("moved", "/p/site/a.html", "/p/site/b.html", False, None),
    # files the build does not read
    ("modified", "/p/README.md", None, False, None),
    ("modified", f"{C}/sent-log.jsonl", None, False, None),
    ("created", f"{C}/raw/notes.md", None, False, None),
    ("created", f"{C}/raw/old/day.txt", None, False, None),
    ("modified", f"{C}/digests/README.txt", None, False, None),
    ("modified", "/elsewhere/content/digest.yaml", None, False, None),
]


@pytest.mark.parametrize(("event_type", "src", "dest", "is_dir", "kind"), EVENTS)
def test_classify_event(
    event_type: str, src: str, dest: str | None, is_dir: bool, kind: str | None
) -> None:
    change = classify_event(event_type, src, dest, is_dir, LAYOUT)
    assert (change.kind if change else None) == kind


def test_classify_event_reports_the_relevant_path_of_a_move() -> None:
    change = classify_event("moved", f"{C}/raw/.x.part", f"{C}/raw/a.txt", False, LAYOUT)
    assert change == Change("raw", f"{C}/raw/a.txt")


def test_extra_ignored_folders() -> None:
    layout = Layout.of(Path("/p"), ignored=[Path("/p/content/build")])
    assert classify_event("modified", f"{C}/build/digest.yaml", None, False, layout) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_debouncer_waits_for_quiet_but_not_forever() -> None:
    clock = FakeClock()
    debouncer = Debouncer(quiet=0.2, longest=1.0, clock=clock)
    assert debouncer.due_in() is None
    debouncer.add(Change("templates", "a"))
    assert debouncer.due_in() == pytest.approx(0.2)
    for _ in range(8):  # a save every 0.15 s keeps it waiting...
        clock.now += 0.15
        debouncer.add(Change("templates", "b"))
    assert debouncer.due_in() == 0.0  # ...but no longer than `longest` after the first


def test_debouncer_returns_a_burst_as_one_batch() -> None:
    debouncer = Debouncer(quiet=0.05, longest=1.0)
    for name in "abcde":
        debouncer.add(Change("raw", name))
    assert [c.path for c in debouncer.wait() or []] == list("abcde")
    closer = threading.Timer(0.05, debouncer.close)
    closer.start()
    assert debouncer.wait() is None  # close() ends a waiting build loop


def wait_until(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for folder in ("content/raw", "content/digests", "templates", "site", ".digest-serve/a"):
        (root / folder).mkdir(parents=True)
    (root / "content" / "digest.yaml").write_text("title: x\n")
    return root


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_watcher_reports_sources_and_ignores_noise(tree: Path, poll: bool) -> None:
    changes: list[Change] = []
    watcher = Watcher(tree, changes.append, poll=poll, poll_interval=0.1)
    watcher.start()
    try:
        for noise in (
            "templates/.day.html.swp",
            "templates/4913",
            "templates/day.html~",
            "templates/#day.html#",
            "site/index.html",
            ".digest-serve/a/index.html",
            "content/raw/notes.md",
            "README.md",
        ):
            (tree / noise).write_text("x")
        (tree / "templates" / "day.html").write_text("<p>sentinel</p>")
        wait_until(lambda: any(c.path.endswith("day.html") for c in changes))
        (tree / "content" / "raw" / "day9.txt").write_text("Jan 9\n\nA title\n\nAn abstract.\n")
        wait_until(lambda: any(c.kind == "raw" for c in changes))
    finally:
        watcher.stop()
    names = {Path(c.path).name for c in changes}
    assert names <= {"day.html", "day9.txt"}, changes


def test_watcher_picks_up_a_templates_folder_created_later(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "content").mkdir(parents=True)
    changes: list[Change] = []
    watcher = Watcher(root, changes.append)
    watcher.start()
    try:
        (root / "templates").mkdir()
        wait_until(lambda: any(c.kind == "templates" for c in changes))
        (root / "templates" / "base.html").write_text("x")
        wait_until(lambda: any(c.path.endswith("base.html") for c in changes))
    finally:
        watcher.stop()
