"""The project lock: commands that write a project take turns, so none loses another's work.

``digest ingest``, ``digest build`` (which ingests new dumps and writes the site), the preview
server's rebuilds and ``digest email --send`` (which keeps the sent log) each read pages, merge
and write them back; two at once lost papers (the later write won) or crashed on a shared
staging folder. So each takes an exclusive ``flock`` on one lock file of the project for as
long as it writes. Why flock: the kernel releases it when its holder exits, even by SIGKILL,
so a crashed command never leaves a stale lock behind, and nothing needs cleaning up.

A second command waits, saying once who it waits for, and gives up with a clear error after
``DIGEST_LOCK_TIMEOUT`` seconds (default 600: longer than a full build of 50,000 papers).
The lock is re-entrant within a thread (``build`` ingests under the lock it already holds);
another thread of the same process waits like another process would.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.errors import DigestError

log = logging.getLogger(__name__)

TIMEOUT_VARIABLE = "DIGEST_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
POLL_SECONDS = 0.05

_held: dict[tuple[str, int], int] = {}
"""(lock path, thread id) -> how many times that thread holds it."""


@contextmanager
def project_lock(path: Path, command: str) -> Iterator[None]:
    """Hold the lock file at ``path`` while the block runs; wait for another holder first."""
    key = (str(path), threading.get_ident())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, timeout())
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {command}\n".encode())
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the lock


def timeout() -> float:
    """Return how long to wait for the lock, from ``DIGEST_LOCK_TIMEOUT`` or the default."""
    value = os.environ.get(TIMEOUT_VARIABLE, "")
    try:
        return max(0.0, float(value)) if value else DEFAULT_TIMEOUT
    except ValueError:
        message = f"{TIMEOUT_VARIABLE} must be a number of seconds, got {value!r}"
        raise DigestError(message) from None


def _acquire(fd: int, path: Path, seconds: float) -> None:
    if _try(fd):
        return
    holder = _holder(path)
    log.warning("waiting for %s to finish writing this project...", holder)
    deadline = time.monotonic() + seconds
    while not _try(fd):
        if time.monotonic() >= deadline:
            raise DigestError(
                f"gave up after {seconds:g} s waiting for {holder} to finish writing this "
                f"project (set {TIMEOUT_VARIABLE} to wait longer); nothing was written"
            )
        time.sleep(POLL_SECONDS)


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    """Describe the lock's holder from what it wrote into the lock file."""
    try:
        pid, _, command = path.read_text(encoding="utf-8").strip().partition(" ")
    except OSError:
        return "another digest command"
    return f"`digest {command}` (pid {pid})" if pid.isdigit() and command else "another command"
