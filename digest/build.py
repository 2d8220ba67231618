"""Build the static site: ingest pending dumps, load the library, render every page, write.

Writing is all-or-nothing and incremental. Pages are rendered into a staging folder next to the
output; only when every page rendered are they moved into place. A manifest of what the last
build wrote (path -> hash) lets a rebuild skip unchanged files and remove pages whose content is
gone, without ever touching files digest did not write, and without wiping the output folder
(deleting a large folder makes this disk slow for a long time).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import multiprocessing
import os
import pickle
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from digest import __version__
from digest.errors import DigestError
from digest.fsutil import sha1_hex, sha256_file, write_atomic, write_new
from digest.ingest import DayReport, ingest
from digest.load import Library, library_from
from digest.project import Config, Project
from digest.render import Renderer, template_dirs
from digest.search import Shard, build_shard, cached_search_files, plan_search
from digest.store import StoredDay, load_stored_days
from digest.views import PageSpec, Views

MANIFEST = ".digest-manifest.json"
MANIFEST_VERSION = 2
PARALLEL_FROM = 2000
"""Work in two processes from this many pages + papers to index (forking costs ~0.1 s)."""
CHUNK = 500
Staged = tuple[str, str, str | None, bool]
"""(site path, content hash, page key, whether it was written to the staging folder)."""
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
    writer = SiteWriter(out, clean=clean)
    try:
        inputs = input_stamp(project, config)
        if writer.up_to_date(inputs):
            return BuildReport(out, 0, len(writer.old), 0, time.perf_counter() - started)
        later: list[Callable[[], None]] = []  # cache writes, done while the workers render
        stored = load_stored_days(project.digests_dir, project.cache_dir, later)
        ingested: list[DayReport] = []
        pending = pending_dumps(project, stored)
        if pending:
            _run_all(later)  # ingest reads the pages again: let it find them cached
            later.clear()
            ingested = ingest(project, pending)
            stored = load_stored_days(project.digests_dir, project.cache_dir, later)
            inputs = input_stamp(project, config)
        library = library_from(stored, project.themes)
        _write_site(project, library, config, writer, progress, later)
        written, unchanged, removed = writer.commit(inputs)
    finally:
        writer.discard()
    seconds = time.perf_counter() - started
    return BuildReport(out, written, unchanged, removed, seconds, tuple(ingested))


def _write_site(
    project: Project,
    library: Library,
    config: Config,
    writer: SiteWriter,
    progress: Callable[[int, int], None] | None,
    later: list[Callable[[], None]],
) -> None:
    """Render the pages whose data changed (all of them when templates or settings did)."""
    views = Views(library, config)
    renderer = Renderer(template_dirs(project.templates_dir), views.site())
    salt = _render_salt(renderer, config, library)
    dirty = []
    for spec in views.plan():
        key = None if spec.key is None else sha1_hex(f"{salt}|{spec.key}".encode())
        if key is None or not writer.keep(spec.path, key):
            dirty.append((spec, key))
    cache = project.cache_dir / "search"
    search = plan_search(library, cache)
    shards = [(shard, sha1_hex(f"{salt}|{shard.key()}".encode())) for shard in search.missing]
    run_work(renderer, writer, dirty, ShardWork(shards, cache), progress, later)
    for site_path, source in renderer.static_files():
        writer.add(site_path, source.read_bytes())
    for file in cached_search_files(library, search, cache):
        key = sha1_hex(f"{salt}|{file.key}".encode()) if file.key else None
        if key is None or not writer.keep(file.path, key):
            writer.add(file.path, file.read(), key)


def _render_salt(renderer: Renderer, config: Config, library: Library) -> str:
    """Fingerprint what every page depends on: digest, templates, settings, themes, header."""
    parts = [__version__.encode(), pickle.dumps((config, library.themes, renderer.site))]
    for folder in renderer.dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                parts += [str(path.relative_to(folder)).encode(), path.read_bytes()]
    return sha1_hex(b"\0".join(parts))


Work = list[tuple[PageSpec, str | None]]


@dataclass(frozen=True)
class ShardWork:
    """Search shards to build, each with its page key, and the cache they are kept in."""

    shards: list[tuple[Shard, str]]
    cache: Path | None


Task = tuple[str, int]
_FORK_STATE: tuple[Renderer, SiteWriter, list[Work], ShardWork] | None = None
"""What forked workers inherit; set just before the pool forks them."""


def run_work(
    renderer: Renderer,
    writer: SiteWriter,
    dirty: Work,
    search: ShardWork,
    progress: Callable[[int, int], None] | None,
    meanwhile: Iterable[Callable[[], None]] = (),
) -> None:
    """Render pages and build search shards, staging both; run ``meanwhile`` as they do.

    Both kinds of work share one pool of two forked processes, so the cores stay busy until
    the end; a worker caches and stages the shard it built, so megabytes of index never go
    back through a pipe. Forking shares the loaded library and compiled templates with the
    workers for free; a process with other threads (the preview server) works in-process
    instead, as forking it is unsafe; so does a small build, where forking costs more.
    """
    global _FORK_STATE  # noqa: PLW0603 - inherited by the forked workers, never pickled
    workers = min(os.cpu_count() or 1, 2)
    papers = sum(len(shard.docs) for shard, _ in search.shards)
    small = len(dirty) + papers < PARALLEL_FROM
    chunks = [dirty[i : i + CHUNK] for i in range(0, len(dirty), CHUNK)]
    tasks: list[Task] = [("shard", i) for i in range(len(search.shards))]
    tasks += [("pages", i) for i in range(len(chunks))]
    _FORK_STATE = (renderer, writer, chunks, search)
    try:
        if small or workers < 2 or threading.active_count() > 1:
            _run_all(meanwhile)  # first, as in the pool: a failed render keeps them too
            _collect(map(_work, tasks), writer, len(dirty), progress)
        else:
            renderer.warm()  # compiled once, inherited by both workers
            # Objects that exist now are never freed by a worker: freezing them keeps the
            # workers' collector off them, so it neither scans nor copies those pages.
            gc.freeze()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.imap_unordered(_work, tasks)
                _run_all(meanwhile)  # the main process is idle until results come back
                _collect(results, writer, len(dirty), progress)
    finally:
        _FORK_STATE = None
        gc.unfreeze()


def _run_all(calls: Iterable[Callable[[], None]]) -> None:
    for call in calls:
        call()


def _collect(
    results: Iterable[tuple[str, list[Staged]]],
    writer: SiteWriter,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    done = 0
    for kind, staged in results:
        writer.merge(staged)
        if kind == "pages":
            done += len(staged)
            if progress:
                progress(done, total)


def _work(task: Task) -> tuple[str, list[Staged]]:
    """Do one task (a chunk of pages, or one search shard) in a worker or in-process."""
    assert _FORK_STATE is not None
    renderer, writer, chunks, search = _FORK_STATE
    kind, index = task
    if kind == "shard":
        shard, key = search.shards[index]
        return kind, [writer.stage(shard.path, build_shard(shard, search.cache), key)]
    staged = [
        writer.stage(spec.path, renderer.render(spec.make()), key) for spec, key in chunks[index]
    ]
    return kind, staged


def input_stamp(project: Project, config: Config) -> str:
    """Fingerprint every input by name, size and time: equal stamps mean nothing to build."""
    parts = [__version__, repr(config)]
    folders = [project.content_dir, *template_dirs(project.templates_dir)]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                parts.append(f"{path}|{stat.st_size}|{stat.st_mtime_ns}")
    return sha1_hex("\n".join(parts).encode("utf-8"))


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


def pending_dumps(project: Project, stored: dict[dt.date, StoredDay]) -> list[Path]:
    """Return the raw dumps in ``content/raw`` that no digest page lists as a source yet."""
    recorded = {(s.file, s.sha256) for page in stored.values() for s in page.day.sources}
    return [p for p in project.raw_dumps() if (p.name, sha256_file(p)) not in recorded]


def terminal_progress(done: int, total: int) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    sys.stderr.write(f"\rbuilding [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages")
    sys.stderr.flush()


def read_manifest(out: Path) -> dict[str, Any]:
    """Return what the last build into ``out`` recorded (files, page keys, inputs), or {}."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and data.get("version") == MANIFEST_VERSION
    return data if ok else {}


class SiteWriter:
    """Stages changed files, then moves them into the output folder in one go."""

    def __init__(self, out: Path, *, clean: bool):
        self.out = out
        self.clean = clean
        self.staging = out.parent / f".{out.name}.staging"
        shutil.rmtree(self.staging, ignore_errors=True)
        manifest = {} if clean else read_manifest(out)
        self.inputs: str = manifest.get("inputs", "")
        self.old: dict[str, str] = manifest.get("files", {})
        self.old_keys: dict[str, str] = manifest.get("keys", {})
        self.new: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.staged: list[str] = []
        self._made: set[str] = set()
        # Listing the folders the last build wrote to answers "is that file still there?" for
        # every page: a third faster than a stat() per page (52,000 at 50,000 papers).
        self._present = _files_in(out, {p.rpartition("/")[0] for p in self.old})

    def up_to_date(self, inputs: str) -> bool:
        """Return True if the last build had exactly these inputs and its files are all there."""
        if not self.old or inputs != self.inputs:
            return False
        return all(self._exists(path) for path in self.old)

    def _exists(self, site_path: str) -> bool:
        return site_path in self._present

    def keep(self, site_path: str, key: str) -> bool:
        """Keep a page the last build wrote from the same data; return False if it must render."""
        if self.old_keys.get(site_path) != key or not self._exists(site_path):
            return False
        self.new[site_path] = self.old[site_path]
        self.keys[site_path] = key
        return True

    def add(self, site_path: str, data: bytes, key: str | None = None) -> None:
        """Record one output file; stage it unless the same bytes are already in place."""
        if site_path in self.new:
            raise DigestError(f"two pages would be written to {site_path}; rename a theme slug")
        self.merge([self.stage(site_path, data, key)])

    def stage(self, site_path: str, data: bytes, key: str | None) -> Staged:
        """Write ``data`` to the staging folder if it differs from the last build's file."""
        _check_site_path(site_path)
        digest = sha1_hex(data)
        if self.old.get(site_path) == digest and self._exists(site_path):
            return site_path, digest, key, False
        folder = site_path.rpartition("/")[0]
        if folder not in self._made:  # once per folder and process, not once per page
            os.makedirs(f"{self.staging}/{folder}", exist_ok=True)
            self._made.add(folder)
        write_new(f"{self.staging}/{site_path}", data)
        return site_path, digest, key, True

    def merge(self, results: Iterable[Staged]) -> None:
        """Record staged results (from this process or a worker)."""
        for site_path, digest, key, staged in results:
            self.new[site_path] = digest
            if key is not None:
                self.keys[site_path] = key
            if staged:
                self.staged.append(site_path)

    def commit(self, inputs: str) -> tuple[int, int, int]:
        """Move staged files into place and remove files of the last build that are gone."""
        if self.out.exists():
            for site_path in self.staged:
                target = self.out / site_path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / site_path, target)
        else:  # a first build: the staging folder becomes the site in one rename
            self.staging.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging, self.out)
        removed = self._remove_stale()
        manifest = {
            "version": MANIFEST_VERSION,
            "inputs": inputs,
            "files": self.new,
            "keys": self.keys,
        }
        data = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)  # json.dumps's bytes, 5x faster
        write_atomic(self.out / MANIFEST, data)
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


def _files_in(root: Path, folders: Iterable[str]) -> set[str]:
    """Return the site paths of the files directly in ``folders`` (relative to ``root``).

    Only folders digest wrote to are listed, so unrelated trees in the output folder (a .git,
    an unreadable lost+found) cost nothing; a folder that cannot be listed has no files.
    """
    found: set[str] = set()
    for folder in folders:
        try:
            with os.scandir(f"{root}/{folder}" if folder else root) as entries:
                prefix = f"{folder}/" if folder else ""
                found.update(prefix + e.name for e in entries if e.is_file())
        except OSError:
            continue
    return found


def _check_site_path(site_path: str) -> None:
    parts = site_path.split("/")
    if site_path.startswith("/") or not all(parts) or ".." in parts or "." in parts:
        raise DigestError(f"refusing to write outside the site folder: {site_path!r}")
