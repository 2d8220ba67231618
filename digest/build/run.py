"""``digest build``'s entry: answer a no-op build from its stamp, else run the whole build.

Most builds of a daily job, and every save in an editor under ``digest serve``, come in
pairs with nothing between them, so "nothing to do" must be quick: this module imports only
what that answer needs (:mod:`digest.build.stamp`), and :mod:`digest.build.full`, which
brings the parser, the matcher, the library, the renderer and the search index, is imported
only when there is work.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from digest import __version__
from digest.build import stamp
from digest.build.writer import staging_folder
from digest.errors import DigestError
from digest.fsutil import rare_collections
from digest.model import Moves
from digest.project import Project
from digest.text import plural

if TYPE_CHECKING:
    from digest.ingest.run import DayReport

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
    noop: bool = field(default=False, compare=False)
    """Answered from the stamp: nothing was read but the stamp and the folders' times."""

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
    started = time.perf_counter()
    out = (out or project.site_dir).resolve()
    check_output_folder(project, out)
    with project.writing("build"), rare_collections():
        where = stamp.stamp_path(project.cache_dir, out)
        begun = time.time_ns()
        files = stamp.files_token(project.input_folders)
        inputs = fast_inputs(files, base_url)
        files_kept = None if clean else stamp.current(where, out, inputs, staging_folder(out))
        if files_kept is not None:
            return BuildReport(out, 0, files_kept, 0, time.perf_counter() - started, noop=True)
        from digest.build.full import build_site  # the whole pipeline, imported only for work

        return build_site(project, out, base_url, clean, (files, begun), progress, say, started)


def fast_inputs(files: str, base_url: str | None) -> str:
    """What a stamp records of the inputs: the files, digest's version, the command's URL.

    The settings need no reading: ``digest.yaml`` is one of the files.
    """
    return f"{__version__}|{base_url!r}|{files}"


def check_output_folder(project: Project, out: Path) -> None:
    """Refuse an output folder that holds the project's own files (a build replaces it)."""
    for precious in (project.content_dir, project.templates_dir, project.root):
        if out == precious or precious.is_relative_to(out):
            raise DigestError(
                f"the output folder {out} would hold {precious}; choose another --out"
            )


def terminal_progress(done: int, total: int) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    sys.stderr.write(f"\rbuilding [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages")
    sys.stderr.flush()
