"""Build the static site: ingest pending dumps, load the library, render every page, write.

Writing is all-or-nothing and incremental. Pages are rendered into a staging folder next to the
output; only when every page rendered are they moved into place. A manifest of what the last
build wrote (path -> hash) lets a rebuild skip unchanged files and remove pages whose content is
gone, without ever touching files digest did not write, and without wiping the output folder
(deleting a large folder makes this disk slow for a long time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from digest.errors import DigestError
from digest.fsutil import sha256_file, write_atomic
from digest.ingest import DayReport, ingest
from digest.load import library_from
from digest.project import Config, Project
from digest.render import Renderer, template_dirs
from digest.search import search_files
from digest.store import StoredDay, load_stored_days
from digest.views import Views

MANIFEST = ".digest-manifest.json"
PROGRESS_FROM = 2000
"""Show a progress line when a build has at least this many files (and stderr is a terminal)."""


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the summary line."""

    out: Path
    written: int
    unchanged: int
    removed: int
    seconds: float
    ingested: tuple[DayReport, ...] = ()

    def summary(self) -> str:
        return (
            f"{self.out}: {self.written} files written, {self.unchanged} unchanged, "
            f"{self.removed} removed in {self.seconds:.2f} s"
        )


def build(
    project: Project,
    *,
    out: Path | None = None,
    base_url: str | None = None,
    clean: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build the project's site into ``out`` (default ``site/``); the old site stays on failure."""
    started = time.perf_counter()
    out = (out or project.site_dir).resolve()
    _check_output_folder(project, out)
    config = project.config if base_url is None else _with_base_url(project.config, base_url)
    stored = load_stored_days(project.digests_dir, project.cache_dir)
    ingested = ingest_pending(project, stored)
    if ingested:
        stored = load_stored_days(project.digests_dir, project.cache_dir)
    library = library_from(stored, project.themes)
    views = Views(library, config)
    renderer = Renderer(template_dirs(project.templates_dir), views.site())
    writer = SiteWriter(out, clean=clean)
    try:
        total = views.count_pages()
        for done, page in enumerate(views.pages(), start=1):
            writer.add(page.path, renderer.render(page))
            if progress and done % 500 == 0:
                progress(done, total)
        for site_path, source in renderer.static_files():
            writer.add(site_path, source.read_bytes())
        for site_path, data in search_files(library):
            writer.add(site_path, data)
        written, unchanged, removed = writer.commit()
    finally:
        writer.discard()
    seconds = time.perf_counter() - started
    return BuildReport(out, written, unchanged, removed, seconds, tuple(ingested))


def _with_base_url(config: Config, base_url: str) -> Config:
    if base_url and not base_url.startswith(("http://", "https://")):
        raise DigestError(f"--base-url must start with http:// or https://, got {base_url!r}")
    return replace(config, base_url=base_url)


def _check_output_folder(project: Project, out: Path) -> None:
    for precious in (project.content_dir, project.templates_dir, project.root):
        if out == precious or precious.is_relative_to(out):
            raise DigestError(
                f"the output folder {out} would hold {precious}; choose another --out"
            )


def ingest_pending(project: Project, stored: dict[dt.date, StoredDay]) -> list[DayReport]:
    """Ingest the raw dumps in ``content/raw`` that no digest page lists as a source yet."""
    recorded = {(s.file, s.sha256) for page in stored.values() for s in page.day.sources}
    pending = [p for p in project.raw_dumps() if (p.name, sha256_file(p)) not in recorded]
    return ingest(project, pending) if pending else []


def terminal_progress(done: int, total: int) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    sys.stderr.write(f"\rbuilding [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages")
    sys.stderr.flush()


class SiteWriter:
    """Stages changed files, then moves them into the output folder in one go."""

    def __init__(self, out: Path, *, clean: bool):
        self.out = out
        self.clean = clean
        self.staging = out.parent / f".{out.name}.staging"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.old = {} if clean else self._read_manifest()
        self.new: dict[str, str] = {}
        self.staged: list[str] = []

    def _read_manifest(self) -> dict[str, str]:
        try:
            data = json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def add(self, site_path: str, data: bytes) -> None:
        """Record one output file; stage it unless the same bytes are already in place."""
        _check_site_path(site_path)
        if site_path in self.new:
            raise DigestError(f"two pages would be written to {site_path}; rename a theme slug")
        digest = hashlib.sha1(data).hexdigest()
        self.new[site_path] = digest
        if self.old.get(site_path) == digest and (self.out / site_path).is_file():
            return
        target = self.staging / site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.staged.append(site_path)

    def commit(self) -> tuple[int, int, int]:
        """Move staged files into place and remove files of the last build that are gone."""
        self.out.mkdir(parents=True, exist_ok=True)
        for site_path in self.staged:
            target = self.out / site_path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / site_path, target)
        removed = self._remove_stale()
        manifest = json.dumps(self.new, sort_keys=True, indent=0).encode("utf-8")
        write_atomic(self.out / MANIFEST, manifest)
        return len(self.staged), len(self.new) - len(self.staged), removed

    def _remove_stale(self) -> int:
        previous = set(self.old) if not self.clean else self._files_in_output()
        stale = sorted(previous - set(self.new))
        for site_path in stale:
            (self.out / site_path).unlink(missing_ok=True)
        for folder in sorted({(self.out / p).parent for p in stale}, reverse=True):
            while folder != self.out and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
        return len(stale)

    def _files_in_output(self) -> set[str]:
        """With --clean, every file of an output folder digest made is up for removal."""
        if not (self.out / MANIFEST).is_file():
            return set()  # not a folder digest made: never delete what we did not write
        return {
            p.relative_to(self.out).as_posix()
            for p in self.out.rglob("*")
            if p.is_file() and p.name != MANIFEST
        }

    def discard(self) -> None:
        """Remove the staging folder (after a commit, or when the build failed)."""
        shutil.rmtree(self.staging, ignore_errors=True)


def _check_site_path(site_path: str) -> None:
    path = PurePosixPath(site_path)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DigestError(f"refusing to write outside the site folder: {site_path!r}")
