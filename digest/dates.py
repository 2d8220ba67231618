"""Dates: the build's notion of "now" (``SOURCE_DATE_EPOCH`` when set), and dates users type."""

from __future__ import annotations

import datetime as dt
import os
import re

from digest.errors import DigestError

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def source_date() -> dt.datetime | None:
    """Return ``SOURCE_DATE_EPOCH`` as a UTC time, or None when it is not set.

    The reproducible-builds convention: the one reader of that variable, so every output that
    needs a time (an empty feed's date, an email's Date header) agrees.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else None


def now() -> dt.datetime:
    """Return ``SOURCE_DATE_EPOCH`` if set, else the current UTC time (whole seconds)."""
    return source_date() or dt.datetime.now(dt.UTC).replace(microsecond=0)


def parse_iso_date(text: str, what: str = "--date") -> dt.date:
    """Parse a YYYY-MM-DD date given by the user, or raise a clear error."""
    if not ISO_DATE.match(text):
        raise DigestError(f"{what} must be a date like 2024-04-24, got {text!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DigestError(f"{what} {text!r} is not a real calendar date") from None
