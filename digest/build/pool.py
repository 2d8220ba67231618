"""The build's one scheduler: render pages and build search shards in two forked workers.

Both kinds of work share one pool, so the cores stay busy until the end; a worker caches and
stages the shard it built, so megabytes of index never go back through a pipe. Forking shares
the loaded library and compiled templates with the workers for free. A process with other
threads (the preview server) works in-process instead, as forking it is unsafe; so does a
small build, where forking costs more than it saves.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from digest.build.writer import SiteWriter, Staged
from digest.site.plan import PageSpec
from digest.site.render import Renderer
from digest.site.search import Shard, build_shard

PARALLEL_FROM = 2000
"""Work in two processes from this many pages + papers to index (forking costs ~0.1 s)."""
CHUNK = 500
"""Pages per task: big enough to amortise a task's overhead, small enough to balance."""

Pages = list[tuple[PageSpec, str | None]]
"""Pages to render, each with the key the manifest records for it."""
Task = tuple[str, int]


@dataclass(frozen=True)
class ShardWork:
    """Search shards to build, each with its key, and the cache they are kept in."""

    shards: list[tuple[Shard, str]]
    cache: Path | None


@dataclass(frozen=True)
class _Work:
    renderer: Renderer
    writer: SiteWriter
    chunks: list[Pages]
    search: ShardWork


_FORK_STATE: _Work | None = None
"""What forked workers inherit; set just before the pool forks them, never pickled."""


def run_work(
    renderer: Renderer,
    writer: SiteWriter,
    dirty: Pages,
    search: ShardWork,
    progress: Callable[[int, int], None] | None,
    meanwhile: Iterable[Callable[[], None]] = (),
) -> None:
    """Render pages and build search shards, staging both; run ``meanwhile`` as they do."""
    global _FORK_STATE  # noqa: PLW0603 - inherited by the forked workers
    workers = min(os.cpu_count() or 1, 2)
    papers = sum(len(shard.docs) for shard, _ in search.shards)
    small = len(dirty) + papers < PARALLEL_FROM
    chunks = [dirty[i : i + CHUNK] for i in range(0, len(dirty), CHUNK)]
    tasks: list[Task] = [("shard", i) for i in range(len(search.shards))]
    tasks += [("pages", i) for i in range(len(chunks))]
    _FORK_STATE = _Work(renderer, writer, chunks, search)
    if progress and dirty:
        progress(0, len(dirty))  # the bar shows at once, not after the first chunk
    try:
        if small or workers < 2 or threading.active_count() > 1:
            run_all(meanwhile)  # first, as in the pool: a failed render keeps them too
            _collect(map(_work, tasks), writer, len(dirty), progress)
        else:
            renderer.warm()  # compiled once, inherited by both workers
            # Objects that exist now are never freed by a worker: freezing them keeps the
            # workers' collector off them, so it neither scans nor copies those pages.
            gc.freeze()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.imap_unordered(_work, tasks)
                run_all(meanwhile)  # the main process is idle until results come back
                _collect(results, writer, len(dirty), progress)
    finally:
        _FORK_STATE = None
        gc.unfreeze()


def run_all(calls: Iterable[Callable[[], None]]) -> None:
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
    work = _FORK_STATE
    kind, index = task
    if kind == "shard":
        shard, key = work.search.shards[index]
        return kind, [work.writer.stage(shard.path, build_shard(shard, work.search.cache), key)]
    render, stage = work.renderer.render, work.writer.stage
    return kind, [stage(spec.path, render(spec.make()), key) for spec, key in work.chunks[index]]
