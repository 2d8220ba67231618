"""Building for the preview: into the folder not being served, then switching to it.

Builds alternate between two output folders (``.digest-serve/a`` and ``/b``), each rebuilt
incrementally, so the server never serves a half-built site.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from digest.build.writer import read_manifest
from digest.serve.state import SiteState, Snapshot
from digest.serve.watch import Change
from digest.serve.worker import BuildError, BuildProcess, Failed

SERVE_DIR = ".digest-serve"
"""Serve-only build folders inside the project; it ignores itself in git (a ``*`` .gitignore)."""


Say = Callable[[str], None]


def print_out(text: str) -> None:
    print(text, flush=True)


def print_err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Rebuilder:
    """Builds the project into the folder not being served, then switches to it."""

    def __init__(self, root: Path, state: SiteState, say: Say = print_out, warn: Say = print_err):
        self.root = root
        self.state = state
        self.say = say
        self.warn = warn
        self.base = root / SERVE_DIR
        self.folders = (self.base / "a", self.base / "b")
        self.session = secrets.token_hex(4)
        self.builds = 0
        self.own_writes: dict[Path, int | None] = {}
        """Digest pages the last build's ingest wrote, with their mtimes: not a user's change."""
        self.process = BuildProcess()

    def needed(self, changes: Sequence[Change]) -> list[Change]:
        """Drop the events of digest pages the last build's own ingest wrote (unchanged since)."""
        own, self.own_writes = self.own_writes, {}
        return [
            c
            for c in changes
            if Path(c.path) not in own or own[Path(c.path)] != _mtime(Path(c.path))
        ]

    def rebuild(self, changes: Sequence[Change] = ()) -> bool:
        """Build once; on success serve the result, on failure keep the last good site."""
        current = self.state.current
        target = self.folders[1] if current and current.root == self.folders[0] else self.folders[0]
        self._prepare()
        self.state.wait_unused(target)
        started = time.perf_counter()
        try:
            report = self.process.build(self.root, target)
        except BuildError as exc:  # any failure keeps the last good site; say why
            self._report_failure(exc.failed)
            return False
        changed = changed_files(current.root if current else None, target)
        self.builds += 1
        build_id = current.build_id if current and not changed else f"{self.session}-{self.builds}"
        self.state.publish(Snapshot(target, build_id))
        for day in report.ingested:
            self.say(f"ingested {_shown(day.path, self.root)}: {day.added} new papers")
        if report.moves.papers:
            self.say(report.moves.summary())
        written = [d.path for d in report.ingested if d.written] + list(report.moves.pages)
        self.own_writes = {path: _mtime(path) for path in written}
        self.say(_summary(time.perf_counter() - started, changed, changes, self.root))
        return True

    def _prepare(self) -> None:
        """Create the serve folder with a .gitignore that ignores it, so git never sees builds."""
        if not (self.base / ".gitignore").is_file():
            self.base.mkdir(parents=True, exist_ok=True)
            (self.base / ".gitignore").write_text("# digest serve's builds\n*\n", encoding="utf-8")

    def _report_failure(self, failed: Failed) -> None:
        problem = failed.problem
        if problem.path:
            problem = replace(problem, path=_shown(Path(problem.path), self.root))
        if failed.traceback:
            self.warn(failed.traceback.rstrip())
        where = problem.where()
        self.warn(f"digest: error: {where + ': ' if where else ''}{problem.message}")
        if self.state.current is not None:
            self.warn("digest: still serving the last good build; fix the file to rebuild")
        self.state.fail(problem)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def changed_files(old: Path | None, new: Path) -> int:
    """Count files that differ between two builds, from their manifests (path -> hash)."""
    new_files = _manifest(new)
    if old is None:
        return len(new_files)
    old_files = _manifest(old)
    return sum(old_files.get(k) != new_files.get(k) for k in old_files.keys() | new_files.keys())


def _manifest(folder: Path) -> dict[str, str]:
    """Return a build's files (path -> hash), as its manifest records them."""
    files = read_manifest(folder).get("files", {})
    return files if isinstance(files, dict) else {}


def _summary(seconds: float, changed: int, changes: Sequence[Change], root: Path) -> str:
    what = f"{changed} files changed" if changed else "no changes"
    paths = sorted({_shown(Path(c.path), root) for c in changes})
    cause = f" ({', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''})" if paths else ""
    return f"built in {seconds:.2f} s: {what}{cause}"


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
