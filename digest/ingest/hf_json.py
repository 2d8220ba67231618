"""Read saved responses of Hugging Face's daily-papers API into :class:`Entry` records.

``GET /api/daily_papers?date=YYYY-MM-DD`` answers with a JSON list, one object per listed paper::

    [{"paper": {"id": "2404.12345", "title": ..., "summary": <abstract>, "authors": [{"name"}],
                "upvotes": 42, "ai_summary": ..., "ai_keywords": [...], "githubRepo": ...,
                "githubStars": 120, "projectPage": ..., "submittedOnDailyAt": ...},
      "publishedAt": <when it was listed>, "numComments": 3, "submittedBy": {"name": ...}, ...}]

The same paper as a text dump has it, plus what only the API knows (:class:`Meta`). Only what
identifies a paper is required (its ``id`` and ``title``, and the day it was listed); any other
field of an unexpected type is taken as absent, so a change to the API costs a field, not a day.
Every mistake names the file, the entry (1-based) and the line it starts on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.ingest.parse import FILENAME_DATE, paper_id
from digest.model import NO_META, Entry, Meta
from digest.text import one_line

ARXIV_ID = re.compile(r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5})(?:v\d+)?$", re.IGNORECASE)
"""A modern arXiv id (``2404.12345``, maybe with a version), the only kind Daily Papers lists."""
WHITESPACE = re.compile(r"\s*")


def arxiv_id(value: object) -> str | None:
    """Return the arXiv id in ``value`` without its version, or None if it is not one."""
    if not isinstance(value, str):
        return None
    match = ARXIV_ID.match(value.strip())
    return match["id"] if match else None


def looks_like_json(text: str) -> bool:
    """Tell a saved API response from a page dump: a JSON list of objects (or strings, or none).

    A page's first line is never ``[{`` or ``[]``; a title like "[MASK] is all you need" is
    not taken for JSON. A JSON object (an error response, say) counts, to be refused clearly.
    """
    start = text.lstrip()
    if start.startswith("{"):
        return start[1:].lstrip()[:1] in ('"', "}")
    return start.startswith("[") and start[1:].lstrip()[:1] in ("{", "]", '"')


def parse_json(text: str, path: Path, *, date: dt.date | None = None) -> list[Entry]:
    """Parse one saved response; ``date``, or a date the file's name starts with, is the day
    every paper in it was listed (see :func:`_listed_on`)."""
    fallback = _filename_date(path)
    items = list(_elements(text, path))  # the whole file is valid JSON before any entry is read
    entries = []
    for index, line, item in items:
        paper = _paper(item, index, line, path)
        listed = date or fallback or _listed_on(item, paper, index, line, path)
        entries.append(_entry(item, paper, index, line, path, listed))
    return entries


def _elements(text: str, path: Path) -> Iterator[tuple[int, int, Any]]:
    """Yield (index, line, value) for each element of the top-level JSON list."""
    decoder = json.JSONDecoder()
    pos = WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text.startswith("{", pos):
        raise DigestError(_object_message(text), path, 1)
    pos = _skip(text, pos + 1)
    line, counted = 1, 0
    index = 0
    while not text.startswith("]", pos):
        line, counted = line + text.count("\n", counted, pos), pos
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DigestError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
        except RecursionError:
            raise DigestError("invalid JSON: nested too deeply", path, line) from None
        yield index, line, value
        index += 1
        pos = _skip(text, end)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif not text.startswith("]", pos):
            found = text.count("\n", 0, pos) + 1
            raise DigestError("invalid JSON: expected ',' or ']' after a list item", path, found)
    extra = _skip(text, pos + 1)
    if extra < len(text):
        found = text.count("\n", 0, extra) + 1
        raise DigestError("invalid JSON: extra data after the list", path, found)


def _skip(text: str, pos: int) -> int:
    return WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]


def _object_message(text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    said = data.get("error") if isinstance(data, dict) else None
    why = f" (the server said: {one_line(str(said))[:200]!r})" if said else ""
    return (
        f"is a JSON object, not a list of daily papers{why}; "
        "expected a saved /api/daily_papers response"
    )


def _entry(
    item: dict[str, Any], paper: dict[str, Any], index: int, line: int, path: Path, listed: dt.date
) -> Entry:
    title = one_line(_text(paper.get("title")) or _text(item.get("title")) or "")
    if not title:
        raise DigestError(f"entry {index + 1} has no paper title", path, line)
    found = _text(paper.get("id"))
    if not found:
        raise DigestError(f"entry {index + 1} ({title[:60]!r}) has no paper id", path, line)
    arxiv = arxiv_id(found)
    abstract = one_line(_text(paper.get("summary")) or _text(item.get("summary")) or "")
    return Entry(
        id=arxiv or paper_id(title),
        title=title,
        abstract=abstract,
        date=listed,
        source=path.name,
        line=line,
        truncated=not abstract,
        meta=_meta(item, paper),
        arxiv_id=arxiv,
    )


def _paper(item: Any, index: int, line: int, path: Path) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise DigestError(
            f"entry {index + 1} is not an object with a 'paper'; expected a daily papers entry",
            path,
            line,
        )
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise DigestError(f"entry {index + 1} has no 'paper' object", path, line)
    return paper


def _listed_on(
    item: dict[str, Any], paper: dict[str, Any], index: int, line: int, path: Path
) -> dt.date:
    """Return the day Hugging Face listed the paper, for a file whose name gives no date.

    The day asked for (``--date``, or the date a saved response's name starts with, which is
    the ``?date=`` digest fetch asked for) wins; else ``submittedOnDailyAt``, the time the
    paper was put on the daily list, then the entry's ``publishedAt`` (UTC), which may be
    close to the arXiv date instead.
    """
    for value in (paper.get("submittedOnDailyAt"), item.get("publishedAt")):
        if isinstance(value, str) and value.strip():
            return _utc_date(value, index, line, path)
    raise DigestError(
        f"entry {index + 1} has no 'publishedAt' (the day it was listed); pass --date "
        "YYYY-MM-DD or start the file name with the date",
        path,
        line,
    )


def _utc_date(value: str, index: int, line: int, path: Path) -> dt.date:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise DigestError(
            f"entry {index + 1}: 'publishedAt' {value[:40]!r} is not an ISO date and time",
            path,
            line,
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def _filename_date(path: Path) -> dt.date | None:
    named = FILENAME_DATE.match(path.name)
    if not named:
        return None
    try:
        return dt.date.fromisoformat(named.group(1))
    except ValueError:
        return None


def _meta(item: dict[str, Any], paper: dict[str, Any]) -> Meta:
    authors = paper.get("authors")
    names = tuple(
        name
        for author in (authors if isinstance(authors, list) else ())
        if isinstance(author, dict) and (name := one_line(_text(author.get("name")) or ""))
    )
    keywords = paper.get("ai_keywords")
    words = tuple(
        word
        for keyword in (keywords if isinstance(keywords, list) else ())
        if (word := one_line(_text(keyword) or ""))
    )
    meta = Meta(
        authors=names or None,
        upvotes=_count(paper.get("upvotes")),
        comments=_count(item.get("numComments")),
        github=_line(paper.get("githubRepo")),
        github_stars=_count(paper.get("githubStars")),
        project_page=_line(paper.get("projectPage")),
        summary=_line(paper.get("ai_summary")),
        keywords=words or None,
        submitted_by=_submitter(item, paper),
    )
    return NO_META if meta == NO_META else meta


def _submitter(item: dict[str, Any], paper: dict[str, Any]) -> str | None:
    for who in (item.get("submittedBy"), paper.get("submittedOnDailyBy")):
        if isinstance(who, dict) and (name := _line(who.get("name") or who.get("user"))):
            return name
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _line(value: object) -> str | None:
    text = _text(value)
    return one_line(text) if text else None


def _count(value: object) -> int | None:
    """Return a count the API gives (an int, or a float like ``12.0``); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value) if value == value and value != float("inf") else None
