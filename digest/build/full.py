"""The build proper: ingest pending dumps, re-theme, load the library, render, write.

Gather everything, then write: the library is loaded whole, the plan (:mod:`digest.site.plan`)
says which files exist and their keys, the pool renders what changed, and the writer moves the
finished files into place only when every page rendered, so a failed build leaves the previous
site untouched.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from digest.build import stamp
from digest.build.pool import Beside, Pages, SearchWork, may_fork, run_work
from digest.build.run import BuildReport, Progress, Say, fast_inputs
from digest.build.writer import SiteWriter
from digest.config import Config, template_dirs
from digest.fsutil import FileHashes, leave_for_exit
from digest.ingest.run import RULES_STATE, DayReport, ingest, retheme
from digest.model import OTHER, Moves
from digest.pages.cache import StoredDay, load_stored_days
from digest.pages.library import Library, library_from, warn_unknown_themes
from digest.project import Project
from digest.site.index import index_files
from digest.site.keys import Keys, input_stamp, render_salt
from digest.site.plan import PageSpec, notes_paths, notes_plan, plan
from digest.site.render import Renderer
from digest.site.replan import CHECK_PLAN, PlanMemo, Reuse, memo_path
from digest.site.search import SearchPlan, plan_search
from digest.site.views import Views
from digest.text import plural
from digest.urls import SEARCH_DIR, SEARCH_MANIFEST, check_base_url


def build_site(
    project: Project,
    out: Path,
    base_url: str | None,
    clean: bool,
    inputs_seen: tuple[str, int],
    progress: Progress | None,
    say: Say | None,
    started: float,
) -> BuildReport:
    """Build the site into ``out`` (see :func:`digest.build.run.build`, which holds the lock).

    ``inputs_seen`` is the inputs' fingerprint and when it was taken, before anything was
    read; the stamp that makes the next no-op build quick is taken once the site is whole.
    """
    files, begun = inputs_seen
    where = stamp.stamp_path(project.cache_dir, out)
    stamp.forget(where)
    config = project.config
    if base_url is not None:
        config = replace(config, base_url=check_base_url(base_url, "--base-url"))
    writer = SiteWriter(out, clean=clean)
    try:
        inputs = input_stamp(files, config)
        if writer.up_to_date(inputs):
            _take_stamp(where, out, fast_inputs(files, base_url), writer.old)
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
            files = _files_after_own_writes(project, begun, ingested, moves)
            inputs = input_stamp(files, config)
            if say is not None:
                for day in ingested:
                    say(f"ingested {day.path}: {plural(day.added, 'new paper')}")
        warn_unknown_themes(stored, project.themes)
        library = library_from(stored, project.themes)
        leave_for_exit(stored, library, writer)
        dirs = template_dirs(project.templates_dir)
        write_site(
            library, config, dirs, writer, project.cache_dir / "search", progress, later,
            templates_cache=project.cache_dir / "templates",
            plan_memo=memo_path(project.cache_dir, out),
        )  # fmt: skip
        written, unchanged, removed = writer.commit(inputs)
        _take_stamp(where, out, fast_inputs(files, base_url), writer.new)
    finally:
        writer.discard()
    seconds = time.perf_counter() - started
    return BuildReport(out, written, unchanged, removed, seconds, ingested, moves)


def _files_after_own_writes(
    project: Project, begun: int, ingested: Sequence[DayReport], moves: Moves
) -> str:
    """Fingerprint the inputs again after this build wrote pages of its own; or "" (nothing
    will match it, so the next build does its work) if another input changed meanwhile: a
    page saved by hand while this build ran was not read by it, and a fingerprint taken now
    would tell the next build it had been."""
    own = {str(r.path) for r in ingested if r.written} | {str(p) for p in moves.pages}
    own.add(str(project.digests_dir / RULES_STATE))
    return stamp.files_token_unless_touched(project.input_folders, begun, own)


def _take_stamp(where: Path, out: Path, inputs: str, site_paths: Collection[str]) -> None:
    """Stamp the whole site: the folders holding ``site_paths`` and the output folder."""
    folders = {path.rpartition("/")[0] for path in site_paths} | {""}
    stamp.record(where, out, inputs, sorted(folders), len(site_paths))


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
    templates_cache: Path | None = None,
    plan_memo: Path | None = None,
) -> None:
    """Stage the files whose data changed (all of them when templates or settings did).

    When no page says anything new of its papers (a note, a day's introduction), only the
    pages showing notes are planned: every other file is the last build's. ``pages=False``
    stages the search index and assets only: what the search benchmark times. ``plan_memo``
    is where the last build into this folder left what its plan was made of (see
    :mod:`digest.site.replan`): the plan reuses its keys, and this build leaves its own.
    """
    views = Views(library, config)
    renderer = Renderer(dirs, views.site(), templates_cache)
    keys = Keys(library, render_salt(dirs, config, library.themes, renderer.site))
    leave_for_exit(views, keys, renderer)
    static = list(renderer.static_files())
    changed = None
    if pages:  # what the next build compares to (search_index's stays empty: no pages)
        writer.state = keys.records_state() if library.records else ""  # empty: today's feed
        writer.days = keys.page_tokens()
        changed = _notes_changed(writer, library, [path for path, _ in static])
    if changed is not None:
        dirty = _dirty(notes_plan(views, keys, changed), writer)
        run_work(renderer, writer, dirty, SearchWork([], {}), progress, later)
        _add_static(writer, static)
        return
    if pages and writer.old and may_fork():  # a rebuild: search beside the pages
        _ = library.newest_first  # sorted before the fork (30 ms): both processes read it
        search_alone = partial(_write_search, library, search_cache, renderer, writer)
        beside = Beside(writer, search_alone)
        try:
            dirty = _site_plan(views, keys, writer, plan_memo)
            run_work(renderer, writer, dirty, SearchWork([], {}), progress, later)
            writer.merge(beside.result())
        finally:
            beside.stop()
    else:  # a first build: the search units and the pages share one pool
        search = plan_search(library, search_cache)
        dirty = _site_plan(views, keys, writer, plan_memo) if pages else []
        work = search_work(search, writer)
        run_work(renderer, writer, dirty, work, progress, later, partial(_index, search, writer))
    _add_static(writer, static)


def _site_plan(views: Views, keys: Keys, writer: SiteWriter, memo: Path | None) -> Pages:
    """Plan every page, by difference from the last build into this folder if it left a memo
    of its plan; leave this build's memo. With ``DIGEST_CHECK_PLAN`` set (the test suite sets
    it), the plan by difference is checked against the full plan."""
    library = views.library
    reuse = Reuse.since(
        PlanMemo.load(memo), keys.salt, writer.old_state, library, writer.old_keys,
        writer.old_days, writer.present,
    )  # fmt: skip
    specs = list(plan(views, keys, reuse))
    if reuse is not None:
        if os.environ.get(CHECK_PLAN):
            _check_plan(specs, reuse.kept, writer.old_keys, list(plan(views, keys)))
        writer.keep_kept(reuse.kept)
    dirty = _dirty(specs, writer)
    if memo is not None and writer.state:
        slugs = [*views.slugs, OTHER]
        PlanMemo.of(library, keys.salt, writer.state, views.related, slugs).save(memo)
    return dirty


def _check_plan(
    specs: Sequence[PageSpec],
    kept: Sequence[str],
    old_keys: Mapping[str, str],
    full: Sequence[PageSpec],
) -> None:
    """Fail unless planning by difference gave every page the full plan's key: the specs'
    own, or the last build's key for a page it kept."""
    found = {s.path: s.key for s in specs} | {path: old_keys[path] for path in kept}
    expected = {s.path: s.key for s in full}
    wrong = sorted(p for p in found.keys() | expected.keys() if found.get(p) != expected.get(p))
    if wrong or len(found) != len(specs) + len(kept):
        raise AssertionError(f"planning by difference went wrong for {wrong[:5]}")


def _write_search(
    library: Library, search_cache: Path | None, renderer: Renderer, writer: SiteWriter
) -> None:
    """Plan the search index, do its units (in a pool of their own if they are many), then
    assemble it: the whole search part of a build, apart from the pages."""
    search = plan_search(library, search_cache)
    work = search_work(search, writer)
    run_work(renderer, writer, [], work, None, (), partial(_index, search, writer))


def _index(search: SearchPlan, writer: SiteWriter) -> None:
    """Stage the index pieces, keyed: made only if the last build's differ."""
    whole = search.index_key()  # the manifest carries it: all pieces kept, or each checked
    if writer.keep_all(f"{SEARCH_DIR}/", SEARCH_MANIFEST, whole, but=f"{SEARCH_DIR}/d/"):
        return
    for file in index_files(search):
        if not file.key or not writer.keep(file.path, file.key):
            writer.add(file.path, file.read(), file.key or None)


def _notes_changed(
    writer: SiteWriter, library: Library, static: Sequence[str]
) -> set[dt.date] | None:
    """Return the days whose pages changed, having kept every other file (the static files
    are always added), if the last build was made of the same records state (see
    :meth:`Keys.records_state`); else None: the whole site is to be planned."""
    changed = {
        dt.date.fromisoformat(date)
        for date, token in writer.days.items()
        if writer.old_days.get(date) != token
    }
    redo = notes_paths(library, changed) | set(static)
    return changed if writer.keep_all_but(writer.state, redo) else None


def _dirty(specs: Iterable[PageSpec], writer: SiteWriter) -> Pages:
    """Return the planned pages the last build did not write from the same data."""
    return [(s, s.key) for s in specs if s.key is None or not writer.keep(s.path, s.key)]


def _add_static(writer: SiteWriter, static: Sequence[tuple[str, Path]]) -> None:
    for site_path, source in static:
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


def pending_dumps(project: Project, stored: dict[dt.date, StoredDay]) -> list[Path]:
    """Return the raw dumps in ``content/raw`` that no digest page lists as a source yet."""
    recorded = {(s.file, s.sha256) for page in stored.values() for s in page.day.sources}
    hashes = FileHashes(project.cache_dir / "raw-sha256.json")
    pending = [p for p in project.raw_dumps() if (p.name, hashes.sha256(p)) not in recorded]
    hashes.save()
    return pending
