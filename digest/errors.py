"""User-facing errors: one clear line, no traceback."""

from __future__ import annotations

from pathlib import Path


class DigestError(Exception):
    """A mistake in the user's input or project that the user can fix.

    The CLI prints it as ``digest: error: <location>: <message>`` and exits non-zero, so every
    stage raises this (never a bare exception) for anything caused by what the user gave us.
    """

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message
