"""Parse raw Daily Papers page dumps (text copied from a browser) into :class:`Entry` records.

A dump is page chrome (a header, maybe a date like "Apr 24"), then title and abstract lines in turn.
Real copies add noise: CRLF, a BOM, trailing spaces, blank lines or none, vote counts, "Upvote",
"Submitted by ...", "· 5 authors". We drop every line we recognise as chrome, keep what the
noise says (votes, author count, submitter: :class:`Fact`), then pair the remaining lines as
(title, abstract). A fact belongs to the paper whose title comes next, or whose abstract is
still to come: pages print a card's votes and submitter above its title, its authors below.
Anything we cannot make sense of is a :class:`DigestError` naming the file and line, never a
crash. A saved response of Hugging Face's API is read by :mod:`digest.ingest.hf_json` instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from digest.dates import parse_iso_date
from digest.errors import DigestError
from digest.model import NO_META, Entry, Meta

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 400
"""A line longer than this is never a title; seen titles reach ~180 characters."""

CHROME_LINES = frozenset(
    line.casefold()
    for line in (
        "new",
        "Get trending papers in your email inbox!",
        "Get trending papers in your email inbox once a day!",
        "Subscribe",
        "byAK and the research community",
        "by AK and the research community",
        "Daily Papers",
        "Upvote",
        "Upvoted",
        "Previous",
        "Next",
    )
)

NOISE_PATTERNS = (
    ("upvotes", re.compile(r"^(?P<value>\d[\d,.]*\s*[kK]?)$")),  # vote counts: "42", "1.2k"
    ("author_count", re.compile(r"^·?\s*(?P<value>\d+)\s+authors?$")),  # "· 5 authors"
    ("submitted_by", re.compile(r"^Submitted by\s+(?P<value>\S.*)$")),  # "Submitted by akhaliq"
)
SUBMITTED_BY_ALONE = "submitted by"
"""When a page puts the submitter's name on its own line, that next line is noise too."""

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
PAGE_DATE = re.compile(r"^(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?$")
FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\b|_)")
SENTENCE_END = tuple(""".!?)]"'”’""")
"""Characters a complete abstract ends with (else it ends with a URL)."""


@dataclass(frozen=True)
class PageDate:
    """A date line from a page: month and day always, year only if the page gave one."""

    month: int
    day: int
    year: int | None
    line: int


@dataclass(frozen=True)
class Line:
    """A content line (a title or an abstract) with its 1-based line number."""

    number: int
    text: str


@dataclass(frozen=True)
class Fact:
    """What a noise line says about a paper: a :class:`Meta` field and its value."""

    field: str
    value: str


def paper_id(title: str) -> str:
    """Return a short stable id for a paper: the same normalised title always gives the same id.

    Normalising (Unicode NFKC, case, punctuation and spacing) keeps one identity for copies of a
    title that differ only cosmetically between pages. 12 hex digits (48 bits) keep ids short
    for the search index while collisions stay unlikely (about 1 in 200,000 at 10,000 papers).
    """
    return hashlib.sha1(normalise_title(title).encode("utf-8")).hexdigest()[:12]


def normalise_title(title: str) -> str:
    """Return the form of a title used for identity: NFKC, casefolded, alphanumerics only."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.findall(r"\w+", folded))


def read_text(path: Path) -> str:
    """Read a dump as UTF-8 text, turning every way it can be unreadable into a DigestError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DigestError(
            "file not found; expected a Daily Papers page dump (.txt)", path
        ) from None
    except IsADirectoryError:
        raise DigestError(
            "is a directory; expected a Daily Papers page dump (.txt)", path
        ) from None
    except OSError as exc:
        raise DigestError(f"cannot read file: {exc.strerror}", path) from None
    if b"\x00" in data:
        raise DigestError("looks binary (contains NUL bytes); expected UTF-8 text", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DigestError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); expected a UTF-8 page dump",
            path,
            line,
        ) from None
    if not text.strip():
        raise DigestError("is empty; expected a Daily Papers page dump", path)
    return text


def split_lines(text: str) -> list[str]:
    """Split on CRLF, CR or LF only (not on the exotic separators str.splitlines knows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _page_date(text: str, number: int) -> PageDate | None:
    match = PAGE_DATE.match(text)
    if not match or match["month"].casefold() not in MONTHS:
        return None
    year = int(match["year"]) if match["year"] else None
    return PageDate(MONTHS[match["month"].casefold()], int(match["day"]), year, number)


def _fact(text: str) -> Fact | None:
    for name, pattern in NOISE_PATTERNS:
        if match := pattern.match(text):
            return Fact(name, match["value"])
    return None


def scan(text: str) -> Iterator[Line | PageDate | Fact]:
    """Yield content lines, date lines and facts, dropping blank lines and page chrome."""
    seen_content = False
    submitter_next = False
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.strip().lstrip("\ufeff").strip()  # a BOM, also where copies were joined
        if not line:
            continue
        if submitter_next:
            submitter_next = False
            yield Fact("submitted_by", line)
            continue
        if line.casefold() == SUBMITTED_BY_ALONE:
            submitter_next = True
            continue
        if line.casefold() in CHROME_LINES:
            continue
        if fact := _fact(line):
            yield fact
            continue
        date = _page_date(line, number)
        if date is not None:
            yield date
            continue
        if not seen_content and line.startswith("Subscribe") and len(line) > len("Subscribe"):
            line = line[len("Subscribe") :].strip()
        seen_content = True
        yield Line(number, line)


def resolve_date(
    page: PageDate | None, path: Path, override: dt.date | None, year: int | None
) -> dt.date:
    """Return the date for entries under ``page``: --date, else the page's, else the file name's.

    A page date without a year takes ``year``; with none given, the current year, and a
    note says so (once a command: the CLI prints each distinct message once).
    """
    if override is not None:
        return override
    if page is None:
        named = FILENAME_DATE.match(path.name)
        if named:
            return parse_iso_date(named.group(1), f"the date in the file name {path.name!r}")
        raise DigestError(
            "the page has no date line (like 'Apr 24'): start the file name with its date "
            "(2024-04-24-page.txt), or give it with `digest ingest FILE --date YYYY-MM-DD`",
            path,
        )
    if page.year is None and year is None:
        year = dt.date.today().year
        log.warning(
            "note: page dates without a year (like 'Apr 24') are taken to be in %d; set "
            "default_year in content/digest.yaml or pass --year",
            year,
        )
    try:
        return dt.date(page.year or year or 1, page.month, page.day)
    except ValueError:
        raise DigestError(
            f"the page date is not a real date in {page.year or year}", path, page.line
        ) from None


def parse_text(
    text: str, path: Path, *, date: dt.date | None = None, year: int | None = None
) -> list[Entry]:
    """Parse the text of one dump into entries, in page order (duplicates kept)."""
    entries: list[Entry] = []
    page: PageDate | None = None
    title: Line | None = None
    facts: dict[str, str] = {}
    for item in scan(text):
        if isinstance(item, Fact):
            facts[item.field] = item.value
        elif isinstance(item, PageDate):
            if title is not None:
                raise DigestError(
                    f"expected the abstract of {title.text[:60]!r}, found a date line",
                    path,
                    item.line,
                )
            page = item
        elif title is None:
            if len(item.text) > MAX_TITLE_CHARS:
                raise DigestError(
                    f"expected a paper title, found a {len(item.text)}-character paragraph "
                    "(is a title missing above this abstract?)",
                    path,
                    item.number,
                )
            title = item
        else:
            day = resolve_date(page, path, date, year)
            entries.append(_entry(title, item.text, day, path, facts_meta(facts)))
            title, facts = None, {}
    if title is not None:  # the page was cut off after a title
        entries.append(_entry(title, "", resolve_date(page, path, date, year), path, NO_META))
    if not entries:
        raise DigestError(
            "no paper entries found; expected a title line followed by an abstract line", path
        )
    if not entries[-1].truncated and not ends_a_sentence(entries[-1].abstract):
        entries[-1] = _with_truncated(entries[-1])
    return entries


def facts_meta(facts: dict[str, str]) -> Meta:
    """Return what a page's noise lines said about one paper."""
    if not facts:
        return NO_META
    count = facts.get("author_count")
    votes = facts.get("upvotes")
    return Meta(
        author_count=int(count) if count else None,
        upvotes=_votes(votes) if votes else None,
        submitted_by=facts.get("submitted_by"),
    )


def _votes(text: str) -> int:
    """Read a vote count as pages print it: "42", "1,234", "1.2k"."""
    text = text.replace(" ", "").replace(",", "")
    if text[-1] in "kK":
        return round(float(text[:-1]) * 1000)
    return round(float(text))


def ends_a_sentence(text: str) -> bool:
    """Tell whether an abstract looks complete: it ends a sentence, or with a link.

    A page cut off mid-abstract ends mid-word. Plain string operations on the last word only,
    so the check stays linear (a regular expression searching for ``\\S+://\\S+$`` went back
    over every start in a long run without spaces: 28 s on 200 KB).
    """
    if text.endswith(SENTENCE_END):
        return True
    words = text.rsplit(None, 1)
    word = words[-1] if words else ""
    scheme = word.find("://", 1)
    github = word.find("github.com/")
    return (scheme != -1 and scheme + 3 < len(word)) or (github != -1 and github + 11 < len(word))


def _entry(title: Line, abstract: str, date: dt.date, path: Path, meta: Meta) -> Entry:
    return Entry(
        id=paper_id(title.text),
        title=title.text,
        abstract=abstract,
        date=date,
        source=path.name,
        line=title.number,
        truncated=not abstract,
        meta=meta,
    )


def _with_truncated(entry: Entry) -> Entry:
    return Entry(**{**entry.__dict__, "truncated": True})


def parse_file(path: Path, *, date: dt.date | None = None, year: int | None = None) -> list[Entry]:
    """Read and parse one dump file: a page's text, or a saved response of Hugging Face's API.

    The two are told apart by their content, not their names: a response is a JSON list.
    An empty response (a day without papers) has no entries; an empty page is an error.
    """
    from digest.ingest.hf_json import looks_like_json, parse_json  # it imports this module

    text = read_text(path)
    if looks_like_json(text):
        return parse_json(text, path, date=date)
    return parse_text(text, path, date=date, year=year)
