"""What the preview server serves: the current complete build, who reads it, the last error.

Every request takes the current snapshot once (under a lock) and reads only from it; a build
waits until no request still reads the folder it is about to overwrite. A failed build changes
nothing that is served: its error is recorded and streamed to open tabs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError


@dataclass(frozen=True)
class Snapshot:
    """One complete build: the folder it is in and the id open tabs compare to theirs."""

    root: Path
    build_id: str


@dataclass(frozen=True)
class Problem:
    """Why the last build failed, as the terminal and the browser overlay show it."""

    message: str
    path: str | None = None
    line: int | None = None

    @classmethod
    def of(cls, exc: BaseException) -> Problem:
        """Describe a build exception; a DigestError keeps its file and line."""
        if isinstance(exc, DigestError):
            return cls(exc.message, exc.path, exc.line)
        return cls(f"internal error: {type(exc).__name__}: {exc}")

    def where(self) -> str:
        """Return ``path:line`` (or just the path), empty when unknown."""
        if self.path and self.line is not None:
            return f"{self.path}:{self.line}"
        return self.path or ""

    def as_json(self) -> dict[str, object]:
        return {"message": self.message, "path": self.path, "line": self.line}


class SiteState:
    """The snapshot requests read from, who is reading which folder, and change notification."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._current: Snapshot | None = None
        self._problem: Problem | None = None
        self._readers: Counter[Path] = Counter()
        self._seq = 0
        self.closed = False

    @property
    def current(self) -> Snapshot | None:
        with self._cond:
            return self._current

    @contextmanager
    def reading(self) -> Iterator[Snapshot | None]:
        """Pin the current snapshot for one request, so no build overwrites it meanwhile."""
        with self._cond:
            snapshot = self._current
            if snapshot is not None:
                self._readers[snapshot.root] += 1
        try:
            yield snapshot
        finally:
            if snapshot is not None:
                with self._cond:
                    self._readers[snapshot.root] -= 1
                    self._cond.notify_all()

    def wait_unused(self, root: Path) -> None:
        """Block until no request reads ``root`` (requests pin a folder only while reading)."""
        with self._cond:
            while self._readers[root] > 0:
                self._cond.wait(0.5)

    def publish(self, snapshot: Snapshot) -> None:
        """Serve a new complete build and clear any error."""
        with self._cond:
            self._current = snapshot
            self._problem = None
            self._changed()

    def fail(self, problem: Problem) -> None:
        """Record a failed build; the current snapshot stays."""
        with self._cond:
            self._problem = problem
            self._changed()

    def _changed(self) -> None:
        self._seq += 1
        self._cond.notify_all()

    def status(self) -> dict[str, object]:
        """Return what open tabs need: the build id to compare with, and the error if any."""
        with self._cond:
            return self._status()

    def _status(self) -> dict[str, object]:
        build_id = self._current.build_id if self._current else None
        problem = self._problem.as_json() if self._problem else None
        return {"build": build_id, "error": problem}

    def wait_change(self, seen: int, timeout: float) -> tuple[int, dict[str, object] | None]:
        """Wait until the state differs from version ``seen``; return (version, status or None)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq == seen and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return seen, None
                self._cond.wait(left)
            return self._seq, (None if self.closed else self._status())

    def close(self) -> None:
        """End every waiting event stream (shutdown)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
