"""Build the static site: ingest pending dumps, load the library, render every page, write.

Gather everything, then write: the library is loaded whole, the plan (:mod:`digest.site.plan`)
says which files exist and their keys, the pool renders what changed, and the writer moves the
finished files into place only when every page rendered, so a failed build leaves the previous
site untouched.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from digest.build.pool import Pages, SearchWork, run_work
from digest.build.writer import SiteWriter
from digest.config import Config
from digest.errors import DigestError
from digest.fsutil import FileHashes, rare_collections
from digest.ingest.retheme import Moves
from digest.ingest.run import DayReport, ingest, retheme
from digest.pages.cache import StoredDay, load_stored_days
from digest.pages.library import Library, library_from, warn_unknown_themes
from digest.project import Project
from digest.site.index import index_files
from digest.site.keys import Keys, input_stamp, render_salt
from digest.site.plan import plan
from digest.site.render import Renderer
from digest.site.search import SearchPlan, plan_search
from digest.site.templates import template_dirs
from digest.site.views import Views
from digest.text import plural
from digest.urls import SEARCH_DIR, SEARCH_MANIFEST, check_base_url

Progress = Callable[[int, int], None]
Say = Callable[[str], None]


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the summary line."""

    out: Path
    written: int
    unchanged: int
    removed: int
    seconds: float
    ingested: tuple[DayReport, ...] = ()
    moves: Moves = field(default_factory=Moves)

    def summary(self) -> str:
        return (
            f"{self.out}: {plural(self.written, 'file')} written, {self.unchanged:,} unchanged, "
            f"{self.removed:,} removed in {self.seconds:.2f} s"
        )


def build(
    project: Project,
    *,
    out: Path | None = None,
    base_url: str | None = None,
    clean: bool = False,
    progress: Progress | None = None,
    say: Say | None = None,
) -> BuildReport:
    """Build the project's site into ``out`` (default ``site/``); the old site stays on failure.

    Under the project lock: a build ingests new dumps and writes the site, and two writers
    at once lost each other's papers or shared one staging folder. ``say`` gets a line per
    page ingest wrote as soon as it is written; ``progress`` the pages rendered so far.
    """
    with project.writing("build"), rare_collections():
        return _build(project, out, base_url, clean, progress, say)


def _build(
    project: Project,
    out: Path | None,
    base_url: str | None,
    clean: bool,
    progress: Progress | None,
    say: Say | None,
) -> BuildReport:
    started = time.perf_counter()
    out = (out or project.site_dir).resolve()
    _check_output_folder(project, out)
    config = project.config
    if base_url is not None:
        config = replace(config, base_url=check_base_url(base_url, "--base-url"))
    writer = SiteWriter(out, clean=clean)
    try:
        inputs = input_stamp(_inputs(project), config)
        if writer.up_to_date(inputs):
            return BuildReport(out, 0, len(writer.old), 0, time.perf_counter() - started)
        later: list[Callable[[], None]] = []  # cache writes, done while the workers render
        stored = load_stored_days(project.digests_dir, project.cache_dir, later)
        had_pages = bool(stored)
        ingested: tuple[DayReport, ...] = ()
        pending = pending_dumps(project, stored)
        if pending:
            if say is not None:  # ingesting thousands of papers takes seconds: say so first
                say(f"ingesting {plural(len(pending), 'new raw dump')}...")
            ingested = ingest(
                project.digests_dir, pending, project.themes, year=config.default_year,
                cache_dir=project.cache_dir, stored=stored, later=later,
            )  # fmt: skip
            stored = stored | {r.page.day.date: r.page for r in ingested if r.page}
        stored, moves = retheme(
            project.digests_dir, stored, project.themes, fresh=not had_pages,
            cache_dir=project.cache_dir, later=later,
        )  # fmt: skip
        if pending or moves.papers or moves.recorded:
            inputs = input_stamp(_inputs(project), config)
            if say is not None:
                for day in ingested:
                    say(f"ingested {day.path}: {plural(day.added, 'new paper')}")
        warn_unknown_themes(stored, project.themes)
        library = library_from(stored, project.themes)
        dirs = template_dirs(project.templates_dir)
        write_site(library, config, dirs, writer, project.cache_dir / "search", progress, later)
        written, unchanged, removed = writer.commit(inputs)
    finally:
        writer.discard()
    seconds = time.perf_counter() - started
    return BuildReport(out, written, unchanged, removed, seconds, ingested, moves)


def write_site(
    library: Library,
    config: Config,
    dirs: list[Path],
    writer: SiteWriter,
    search_cache: Path | None,
    progress: Progress | None = None,
    later: Sequence[Callable[[], None]] = (),
    *,
    pages: bool = True,
) -> None:
    """Stage the files whose data changed (all of them when templates or settings did).

    ``pages=False`` stages the search index and assets only: what the search benchmark times.
    """
    views = Views(library, config)
    renderer = Renderer(dirs, views.site())
    salt = render_salt(dirs, config, library.themes, renderer.site)
    dirty: Pages = []
    for spec in plan(views, Keys(library, salt)) if pages else ():
        if spec.key is None or not writer.keep(spec.path, spec.key):
            dirty.append((spec, spec.key))
    search = plan_search(library, search_cache)

    def index() -> None:  # the pieces, keyed: made only if the last build's differ
        whole = search.index_key()  # the manifest carries it: all pieces kept, or each checked
        if writer.keep_all(f"{SEARCH_DIR}/", SEARCH_MANIFEST, whole, but=f"{SEARCH_DIR}/d/"):
            return
        for file in index_files(search):
            if not file.key or not writer.keep(file.path, file.key):
                writer.add(file.path, file.read(), file.key or None)

    work = search_work(search, writer)
    run_work(renderer, writer, dirty, work, progress, later, index)
    for site_path, source in renderer.static_files():
        writer.add(site_path, source.read_bytes())


def search_work(search: SearchPlan, writer: SiteWriter) -> SearchWork:
    """Return the search work for the pool: blocks to analyse, details files to write."""
    keys: dict[str, str] = {}
    dirty = []
    keep = writer.keep
    for path, key, block, group in search.details():  # 5,000 of them: kept lean
        if not keep(path, key):
            keys[path] = key
            dirty.append((block, group))
    return SearchWork(search.units(dirty), keys)


def search_index(
    library: Library, config: Config, dirs: list[Path], out: Path, search_cache: Path | None
) -> dict[str, bytes]:
    """Write the search index alone into ``out``, as a build does; return its files' bytes.

    For the search benchmark and tests: the same planning, pool and cache as ``digest build``.
    """
    writer = SiteWriter(out, clean=False)
    try:
        write_site(library, config, dirs, writer, search_cache, pages=False)
        writer.commit("")
    finally:
        writer.discard()
    return {
        path: (out / path).read_bytes()
        for path in sorted(writer.new)
        if path.startswith(SEARCH_DIR + "/")
    }


def _inputs(project: Project) -> list[Path]:
    return [project.content_dir, *template_dirs(project.templates_dir)]


def _check_output_folder(project: Project, out: Path) -> None:
    for precious in (project.content_dir, project.templates_dir, project.root):
        if out == precious or precious.is_relative_to(out):
            raise DigestError(
                f"the output folder {out} would hold {precious}; choose another --out"
            )


def pending_dumps(project: Project, stored: dict[dt.date, StoredDay]) -> list[Path]:
    """Return the raw dumps in ``content/raw`` that no digest page lists as a source yet."""
    recorded = {(s.file, s.sha256) for page in stored.values() for s in page.day.sources}
    hashes = FileHashes(project.cache_dir / "raw-sha256.json")
    pending = [p for p in project.raw_dumps() if (p.name, hashes.sha256(p)) not in recorded]
    hashes.save()
    return pending


def terminal_progress(done: int, total: int) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    sys.stderr.write(f"\rbuilding [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages")
    sys.stderr.flush()
