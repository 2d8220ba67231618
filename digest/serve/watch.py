"""Watch a project's sources for ``digest serve``: which file events matter, and when to rebuild.

:func:`classify_event` is a pure function of an event's fields, so the filter is tested with a
table: only created, modified, deleted and moved files count (watchdog also reports opened,
closed and attribute events, which would cause rebuild loops), editor temp files and anything in
an output or staging folder never count. :class:`Debouncer` turns a burst of saves into one
rebuild. :class:`Watcher` wires both to a watchdog observer (inotify, or polling with ``--poll``
for containers and network drives where inotify misses events).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from digest.project import RAW_SUFFIXES

log = logging.getLogger(__name__)

WANTED_EVENTS = frozenset({"created", "modified", "deleted", "moved"})
"""The watchdog event types that can change the site; everything else is ignored."""
DIRECTORY_EVENTS = frozenset({"deleted", "moved"})
"""A folder's own created/modified events say nothing its files' events do not."""
IGNORED_PARTS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".digest-serve"})
TEMP_NAME = re.compile(
    r"""^(?:
        \..*                                   # dotfiles: .#lock, .DS_Store, .x.swp, .x.tmp
      | .*~                                    # backups: page.md~
      | \#.*\#                                 # Emacs autosave: #page.md#
      | 4913                                   # Vim's write test file
      | .*\.(?:swp|swx|swo|swn|tmp|part|crdownload|bak|orig|rej)
      | .*___jb_(?:tmp|old)___                 # JetBrains safe write
      | ~\$.*                                  # Office lock files
    )$""",
    re.VERBOSE | re.IGNORECASE,
)

CONFIG = "config"
THEMES = "themes"
RAW = "raw"
DIGESTS = "digests"
TEMPLATES = "templates"


@dataclass(frozen=True)
class Layout:
    """The watched folders of a project, and the folders whose events never matter."""

    content: PurePath
    templates: PurePath
    ignored: tuple[PurePath, ...] = ()

    @classmethod
    def of(cls, root: Path, ignored: Iterable[Path] = ()) -> Layout:
        """Describe the project at ``root``; ``ignored`` adds output folders to never watch."""
        outputs = (root / "site", root / ".site.staging", root / ".digest-serve", *ignored)
        return cls(root / "content", root / "templates", tuple(outputs))


@dataclass(frozen=True)
class Change:
    """One file event that calls for a rebuild: what kind of source changed, and where."""

    kind: str
    path: str


def classify_event(
    event_type: str, src: str, dest: str | None, is_directory: bool, layout: Layout
) -> Change | None:
    """Return the change an event makes to the site's sources, or None when it cannot matter."""
    if event_type not in WANTED_EVENTS:
        return None
    if is_directory and event_type not in DIRECTORY_EVENTS:
        return None
    for path in (dest, src) if event_type == "moved" else (src,):
        kind = classify_path(PurePath(path), is_directory, layout) if path else None
        if kind is not None:
            return Change(kind, str(path))
    return None


def classify_path(path: PurePath, is_directory: bool, layout: Layout) -> str | None:
    """Say which kind of source ``path`` is (config, themes, raw, digests, templates) or None."""
    if any(_is_within(path, folder) for folder in layout.ignored):
        return None
    if IGNORED_PARTS.intersection(path.parts) or TEMP_NAME.match(path.name):
        return None
    if _is_within(path, layout.templates):
        return TEMPLATES
    if not _is_within(path, layout.content):
        return None
    relative = path.relative_to(layout.content).parts
    return _content_kind(relative, is_directory)


def _content_kind(relative: tuple[str, ...], is_directory: bool) -> str | None:
    if relative == ("digest.yaml",):
        return CONFIG
    if relative == ("themes.yaml",):
        return THEMES
    folder, name = (relative[0], relative[-1]) if relative else ("", "")
    if folder == "raw" and (is_directory or (len(relative) == 2 and name.endswith(RAW_SUFFIXES))):
        return RAW
    if folder == "digests" and (is_directory or (len(relative) == 2 and name.endswith(".md"))):
        return DIGESTS
    return None


def _is_within(path: PurePath, folder: PurePath) -> bool:
    return path == folder or path.is_relative_to(folder)


class Debouncer:
    """Collect changes until the burst is over: quiet for ``quiet`` s, or ``longest`` s passed."""

    def __init__(
        self,
        quiet: float = 0.15,
        longest: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.quiet = quiet
        self.longest = longest
        self.clock = clock
        self._cond = threading.Condition()
        self._changes: list[Change] = []
        self._first = 0.0
        self._last = 0.0
        self._closed = False

    def add(self, change: Change) -> None:
        """Record a change (called from the observer's thread)."""
        with self._cond:
            now = self.clock()
            if not self._changes:
                self._first = now
            self._last = now
            self._changes.append(change)
            self._cond.notify_all()

    def close(self) -> None:
        """Wake up and end :meth:`wait`, for shutdown."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def due_in(self) -> float | None:
        """Return seconds until the pending burst is due (0 = now), None when nothing is pending."""
        if not self._changes:
            return None
        now = self.clock()
        return max(0.0, min(self._last + self.quiet, self._first + self.longest) - now)

    def wait(self) -> list[Change] | None:
        """Block until a burst of changes is over and return it; None once closed."""
        with self._cond:
            while not self._closed:
                due = self.due_in()
                if due == 0.0:
                    changes, self._changes = self._changes, []
                    return changes
                self._cond.wait(due)
            return None


class _Handler(FileSystemEventHandler):
    def __init__(self, layout: Layout, sink: Callable[[Change], None]):
        super().__init__()
        self.layout = layout
        self.sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        dest = getattr(event, "dest_path", None) or None
        change = classify_event(
            event.event_type,
            _text(event.src_path) or "",
            _text(dest),
            event.is_directory,
            self.layout,
        )
        if change is not None:
            log.debug("change: %s %s", change.kind, change.path)
            self.sink(change)


class _FolderAppears(FileSystemEventHandler):
    """Watches the project root (not recursively) for its source folders being created."""

    def __init__(self, watcher: Watcher):
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory and event.event_type in ("created", "moved"):
            path = _text(getattr(event, "dest_path", None) or event.src_path)
            if path:
                self.watcher.appeared(Path(path))


def _text(path: Any) -> str | None:
    if path is None:
        return None
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else str(path)


class Watcher:
    """Watch a project's content and templates folders and feed changes to a sink."""

    def __init__(
        self,
        root: Path,
        sink: Callable[[Change], None],
        *,
        poll: bool = False,
        poll_interval: float = 0.5,
        ignored: Iterable[Path] = (),
    ):
        self.layout = Layout.of(root, ignored)
        self.sink = sink
        self.observer: Any = PollingObserver(timeout=poll_interval) if poll else Observer()
        self.handler = _Handler(self.layout, sink)
        self.watched: set[Path] = set()
        for folder in (Path(self.layout.content), Path(self.layout.templates)):
            self._watch(folder)
        self.observer.schedule(_FolderAppears(self), str(root), recursive=False)

    def _watch(self, folder: Path) -> bool:
        """Watch a source folder (recursively) once it exists; return True if newly watched."""
        if folder in self.watched or not folder.is_dir():
            return False
        self.observer.schedule(self.handler, str(folder), recursive=True)
        self.watched.add(folder)
        return True

    def appeared(self, folder: Path) -> None:
        """A ``templates/`` or ``content/`` folder was created while serving: watch it, rebuild."""
        kinds = {Path(self.layout.templates): TEMPLATES, Path(self.layout.content): CONFIG}
        if folder in kinds and self._watch(folder):
            self.sink(Change(kinds[folder], str(folder)))

    def start(self) -> None:
        """Start the observer thread (a daemon, so it never keeps the process alive)."""
        self.observer.daemon = True
        self.observer.start()

    def stop(self, timeout: float = 0.5) -> None:
        """Stop the observer and wait briefly for its thread."""
        self.observer.stop()
        self.observer.join(timeout)
