"""The build's one scheduler: render pages and do the search work in two forked workers.

Both kinds of work share one pool, so the cores stay busy until the end. The search units go
first (analyse a half month of papers, write papers' details files); once the last is in,
the main process assembles the index from their analyses while the workers still render
pages. A worker caches and stages what it made, so megabytes of index never go back through
a pipe. Forking shares the loaded library and compiled templates with the workers for free.
A process with other threads works in-process instead, as forking it is unsafe (the preview
server builds in a process of its own for that reason); so does a small build, where forking
costs more than it saves. A rebuild, which has little of either, does the whole search part
in a child of its own (:class:`Beside`) while this process plans and renders the pages.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from digest.build.writer import SiteWriter, Staged
from digest.errors import DigestError
from digest.site.plan import PageSpec
from digest.site.render import Renderer
from digest.site.search import SearchUnit

PARALLEL_FROM = 2000
"""Work in two processes from this many pages + papers to index (forking costs ~0.1 s)."""
CHUNK = 500
"""Pages per task: big enough to amortise a task's overhead, small enough to balance."""

Pages = list[tuple[PageSpec, str | None]]
"""Pages to render, each with the key the manifest records for it."""
Task = tuple[str, int]


@dataclass(frozen=True)
class SearchWork:
    """Search units for the pool, and the keys of the files they write."""

    units: list[SearchUnit]
    keys: dict[str, str]


@dataclass(frozen=True)
class _Work:
    renderer: Renderer
    writer: SiteWriter
    chunks: list[Pages]
    search: SearchWork


_FORK_STATE: _Work | None = None
"""What forked workers inherit; set just before the pool forks them, never pickled."""


def run_work(
    renderer: Renderer,
    writer: SiteWriter,
    dirty: Pages,
    search: SearchWork,
    progress: Callable[[int, int], None] | None,
    meanwhile: Iterable[Callable[[], None]] = (),
    searched: Callable[[], None] | None = None,
) -> None:
    """Render pages and do the search units, staging both; run ``meanwhile`` as they do, and
    ``searched`` (assembling the index) once every search unit is done."""
    global _FORK_STATE  # noqa: PLW0603 - inherited by the forked workers
    workers = min(os.cpu_count() or 1, 2)
    papers = sum(unit.weight for unit in search.units)
    small = len(dirty) + papers < PARALLEL_FROM
    chunks = [dirty[i : i + CHUNK] for i in range(0, len(dirty), CHUNK)]
    tasks: list[Task] = [("search", i) for i in range(len(search.units))]
    tasks += [("pages", i) for i in range(len(chunks))]
    _FORK_STATE = _Work(renderer, writer, chunks, search)
    done = _Searched(len(search.units), searched)
    if progress and dirty:
        progress(0, len(dirty))  # the bar shows at once, not after the first chunk
    try:
        if small or not may_fork():
            run_all(meanwhile)  # first, as in the pool: a failed render keeps them too
            _collect(map(_work, tasks), writer, len(dirty), progress, done)
        else:
            renderer.warm()  # compiled once, inherited by both workers
            # Objects that exist now are never freed by a worker: freezing them keeps the
            # workers' collector off them, so it neither scans nor copies those pages.
            gc.freeze()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.imap_unordered(_work, tasks)
                run_all(meanwhile)  # the main process is idle until results come back
                _collect(results, writer, len(dirty), progress, done)
    finally:
        _FORK_STATE = None
        gc.unfreeze()


class Beside:
    """The search part of a rebuild, in a forked process of its own, beside the pages.

    A new day leaves little to render (a few hundred pages, rendered in-process) and little
    to analyse, but planning 50,000 pages and planning and assembling the index each take
    most of a second: done one after the other they left a core idle. The child plans the
    index, does its units (in a pool of its own if there are many: a cache deleted) and
    assembles it, staging files as a pool worker does, and sends back what it staged and
    kept; this process, meanwhile, plans and renders the pages. It is forked before this
    process has threads (no pool runs yet), as the pool's workers are.
    """

    def __init__(self, writer: SiteWriter, job: Callable[[], None]):
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        # Not daemonic, so that it may start a pool of its own; stopped with the build.
        self._process = context.Process(target=_beside, args=(writer, job, send))
        self._process.start()
        send.close()

    def result(self) -> list[Staged]:
        """Wait for the child; return what it staged and kept, or raise what stopped it."""
        try:
            outcome, value = self._receive.recv()
        except EOFError:  # killed, or died without a word
            raise DigestError("the search index process stopped; build again") from None
        finally:
            self.stop()
        if outcome == "error":
            raise value
        return list(value)

    def stop(self) -> None:
        """End the child (at once if it is still working: the build failed)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()


def _beside(writer: SiteWriter, job: Callable[[], None], send: Connection) -> None:
    """In the child: run ``job``, then send back the writer's new entries (or the error)."""
    signal.signal(signal.SIGTERM, _stop_on_term)  # so that a pool of its own is ended too
    try:
        before = set(writer.new)
        staged_before = len(writer.staged)
        job()
        staged = set(writer.staged[staged_before:])
        new = writer.new
        found = [(p, new[p], writer.keys.get(p), p in staged) for p in new if p not in before]
        send.send(("ok", found))
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
        try:
            send.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            send.send(("error", RuntimeError(traceback.format_exc())))
    finally:
        send.close()


def _stop_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def may_fork() -> bool:
    """Tell whether work may go to forked processes: two cores, no other thread in this
    process (forking a threaded process is unsafe), and not a daemonic process (which
    multiprocessing forbids to have children)."""
    cores = min(os.cpu_count() or 1, 2)
    alone = threading.active_count() == 1
    return cores >= 2 and alone and not multiprocessing.current_process().daemon


def run_all(calls: Iterable[Callable[[], None]]) -> None:
    for call in calls:
        call()


class _Searched:
    """Calls back once the last of ``units`` search results is in (at once if there are none,
    as results start coming)."""

    def __init__(self, units: int, call: Callable[[], None] | None):
        self.left = units
        self.call = call

    def check(self) -> None:
        if self.left == 0 and self.call is not None:
            call, self.call = self.call, None
            call()

    def one(self) -> None:
        self.left -= 1
        self.check()


def _collect(
    results: Iterable[tuple[str, list[Staged]]],
    writer: SiteWriter,
    total: int,
    progress: Callable[[int, int], None] | None,
    searched: _Searched,
) -> None:
    done = 0
    searched.check()  # no search units: the index is assembled while the pages render
    for kind, staged in results:
        writer.merge(staged)
        if kind == "search":
            searched.one()
        elif kind == "pages":
            done += len(staged)
            if progress:
                progress(done, total)
    searched.check()


def _work(task: Task) -> tuple[str, list[Staged]]:
    """Do one task (a chunk of pages, or one search unit) in a worker or in-process."""
    assert _FORK_STATE is not None
    work = _FORK_STATE
    kind, index = task
    if kind == "search":
        made = work.search.units[index].run()
        return kind, [work.writer.stage(path, data, work.search.keys[path]) for path, data in made]
    render, stage = work.renderer.render, work.writer.stage
    return kind, [stage(spec.path, render(spec.make()), key) for spec, key in work.chunks[index]]
