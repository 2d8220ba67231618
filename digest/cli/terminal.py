"""What the command line accepts and shows: argument checks, and digest's warning lines.

An argument that fails its check is argparse's usage error (exit status 2, as the README
promises for command-line mistakes); warnings and notes are ``digest: ...`` lines on the
command's own standard error, each distinct one once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from digest.config import check_address
from digest.dates import parse_iso_date
from digest.errors import DigestError
from digest.urls import check_base_url


def checked(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """Turn a DigestError of a value check into argparse's usage error (exit status 2)."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except DigestError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return convert


date_arg = checked(lambda text: parse_iso_date(text, "the date"))
day_arg = checked(lambda text: parse_iso_date(text, "the date").isoformat())
base_url_arg = checked(lambda text: check_base_url(text, "the URL"))
address_arg = checked(lambda text: check_address(text, "the address"))


def port_arg(lowest: int) -> Callable[[str], int]:
    def port(text: str) -> int:
        if not text.isdigit() or not lowest <= int(text) <= 65535:
            raise argparse.ArgumentTypeError(f"must be a port {lowest}-65535, got {text!r}")
        return int(text)

    return port


def folder_arg(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder")
    return path


class Once(logging.Filter):
    """Let each distinct message through once per command (a note for every file is noise)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


@contextmanager
def messages() -> Iterator[None]:
    """Print digest's warnings as ``digest: ...`` lines on this command's stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("digest: %(message)s"))
    handler.addFilter(Once())
    logger = logging.getLogger("digest")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
