"""The Markdown digest-page format: write a :class:`Day` as a page and read a page back.

A digest page is the project's source of truth once written: people edit it (a note under a
paper, a paper moved under another theme's heading) and every later stage reads it. So the format
is one that reads back exactly, and the writer and reader live side by side in this module::

    ---                                  YAML front matter: date, title, counts, sources
    ---
    # Title
    ## Theme name {#theme-slug}          one section per theme, then "Other"
    ### Paper title {#p-<id>}            one block per paper; id: arXiv id, else a title hash
    - themes: slug, slug                 metadata lines; "(by hand)" at the end keeps the themes
    - why slug: title “...”; abstract “...”
    - first seen: YYYY-MM-DD
    - authors: Ada Lovelace, Alan Turing what a source said about it (:data:`META_KEYS`)
    - upvotes: 42
    - previous ids: 7211cbff64de         ids it had before (its permalinks redirect)
    <blank>
    Abstract (one line)
    <blank>
    Anything else is the paper's notes, kept as written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from digest.errors import DigestError
from digest.model import (
    NO_META,
    OTHER,
    Day,
    Meta,
    Paper,
    Section,
    Source,
    count_themes,
    effective_themes,
)
from digest.yamlfile import TIMESTAMP_TAG, explain_yaml_error, lenient_timestamp, refuse_aliases

SECTION_HEADING = re.compile(r"^## (?P<name>.+?) \{#(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\}\s*$")
PAPER_ID = r"[0-9a-f]{12}|\d{4}\.\d{4,5}"
"""A paper's id: 12 hex digits of its title's hash, or its arXiv id (which has a dot)."""
PAPER_HEADING = re.compile(r"^### (?P<title>.+?) \{#p-(?P<id>" + PAPER_ID + r")\}\s*$")
PREVIOUS_IDS = re.compile(r"(?:" + PAPER_ID + r")(?:,\s*(?:" + PAPER_ID + r"))*")
CODE = re.compile(r"^(?P<url>\S+)(?: \((?P<stars>\d+) stars?\))?$")
META_KEYS = {
    "authors": "authors",
    "author count": "author_count",
    "upvotes": "upvotes",
    "comments": "comments",
    "code": "github",
    "project page": "project_page",
    "tldr": "summary",
    "keywords": "keywords",
    "submitted by": "submitted_by",
}
"""Metadata line keys of :class:`Meta` fields, in the order a page lists them."""
COUNTS = ("author_count", "upvotes", "comments")
META_LINE = re.compile(r"^- (?P<key>[A-Za-z][\w -]*?):\s?(?P<value>.*)$")
MAX_SLUG = 64
"""Longest theme slug: it names files (themes/SLUG.html), and file names have limits."""
KNOWN_FRONT_MATTER = ("date", "title", "papers", "counts", "sources")
HAND_MARK = " (by hand)"
"""Ends a ``themes:`` line whose themes a person chose: re-theming keeps them."""
# libyaml's safe loader and dumper when PyYAML has them: 10x faster on thousands of pages.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, reading an impossible date (2024-02-31) as text for a clear error."""


_Loader.add_constructor(TIMESTAMP_TAG, lenient_timestamp)


def day_title(date: dt.date) -> str:
    """Return the default title of a day's digest page."""
    return f"Papers of {date.day} {date:%B %Y}"


def digest_path(digests_dir: Path, date: dt.date) -> Path:
    """Return where the digest page of ``date`` lives."""
    return digests_dir / f"{date.isoformat()}.md"


# --- writing -------------------------------------------------------------------------------


def page_counts(day: Day, theme_slugs: Sequence[str]) -> dict[str, int]:
    """Return the ``counts`` a page's front matter lists: configured themes first, Other last."""
    counted = count_themes(effective_themes(s, p.themes) for s, p in day.placed_papers())
    counts = dict.fromkeys(theme_slugs, 0) | {s: n for s, n in counted.items() if s != OTHER}
    counts[OTHER] = counted[OTHER]
    return counts


def render_day(day: Day, theme_slugs: Sequence[str]) -> str:
    """Return the Markdown text of a digest page; counts are derived, never taken as read."""
    counts = page_counts(day, theme_slugs)
    front: dict[str, Any] = {
        "date": day.date,
        "title": day.title,
        "papers": sum(len(s.papers) for s in day.sections),
        "counts": counts,
        "sources": [_source_item(s) for s in day.sources],
        **day.extra,
    }
    parts = [
        "---\n"
        + yaml.dump(front, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)
        + "---\n",
        f"# {day.title}\n",
    ]
    if day.intro:
        parts.append(day.intro + "\n")
    for section in day.sections:
        parts.append(f"## {section.name} {{#{section.slug}}}\n")
        if section.intro:
            parts.append(section.intro + "\n")
        parts.extend(_render_paper(paper) for paper in section.papers)
    return "\n".join(parts)


def _source_item(source: Source) -> dict[str, str]:
    item = {"file": source.file, "sha256": source.sha256}
    return item | {"ids": " ".join(source.ids)} if source.ids else item


def _render_paper(paper: Paper) -> str:
    listed = ", ".join(paper.themes) if paper.themes else "none"
    meta = [f"- themes: {listed}{HAND_MARK if paper.hand else ''}"]
    meta += [f"- why {slug}: {reason}" for slug, reason in paper.why.items()]
    if paper.first_seen:
        meta.append(f"- first seen: {paper.first_seen.isoformat()}")
    if paper.truncated:
        meta.append("- truncated: yes")
    if paper.meta is not NO_META:
        meta += _meta_lines(paper.meta)
    if paper.previous_ids:
        meta.append(f"- previous ids: {', '.join(paper.previous_ids)}")
    meta += [f"- {key}: {value}" for key, value in paper.extra]
    lines = [f"### {paper.title} {{#p-{paper.id}}}", "", *meta, ""]
    lines.append(paper.abstract if paper.abstract else "*No abstract: the page was cut off.*")
    if paper.notes:
        lines += ["", paper.notes]
    return "\n".join(lines) + "\n"


def _meta_lines(meta: Meta) -> list[str]:
    lines = []
    for key, name in META_KEYS.items():
        value = getattr(meta, name)
        if value is None or (name == "author_count" and meta.authors):
            continue
        if name == "github":
            stars = meta.github_stars
            value += "" if stars is None else f" ({stars} star{'' if stars == 1 else 's'})"
        elif isinstance(value, tuple):
            value = join_list(value)
        lines.append(f"- {key}: {value}")
    return lines


def join_list(items: Sequence[str]) -> str:
    """Join names for a metadata line: by commas, or by semicolons when a name has a comma.

    A semicolon inside a name (never a real one) becomes a comma: :func:`split_list` would
    otherwise cut the name there. One name with a comma ends with a semicolon, which says so.
    """
    names = [item.replace(";", ",") for item in items]
    if not any("," in name for name in names):
        return ", ".join(names)
    return "; ".join(names) + (";" if len(names) == 1 else "")  # "Li, Wei;" is one name


def split_list(value: str) -> tuple[str, ...]:
    """Read a list :func:`join_list` wrote (or a person typed)."""
    return tuple(part.strip() for part in value.split(";" if ";" in value else ",") if part.strip())


# --- reading -------------------------------------------------------------------------------


@dataclass
class _Block:
    """Lines gathered under one heading while reading a page."""

    heading: re.Match[str] | None
    line: int
    lines: list[str] = field(default_factory=list)


def parse_day(text: str, path: Path) -> Day:
    """Read a digest page."""
    front, body, body_start = _split_front_matter(text, path)
    lines = text.replace("\r\n", "\n").split("\n")[: body_start - 1]
    date = _front_date(front.get("date"), path, _key_line(lines, "date"))
    title = front.get("title") or day_title(date)
    if not isinstance(title, str | int | float):
        raise DigestError("front matter 'title' must be text", path, _key_line(lines, "title"))
    sources = _sources(front.get("sources"), path, _key_line(lines, "sources"))
    extra = {k: v for k, v in front.items() if k not in KNOWN_FRONT_MATTER}
    intro, sections = _read_body(body, body_start, str(title), path)
    return Day(date, str(title), tuple(sections), sources, intro, extra)


def _key_line(lines: list[str], key: str) -> int:
    """Return the 1-based line of a top-level front matter key (else 2, the first key's)."""
    found = (i for i, line in enumerate(lines, start=1) if line.startswith(f"{key}:"))
    return next(found, 2)


def _front_date(value: Any, path: Path, line: int) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise DigestError(
                f"front matter date {value!r} is not YYYY-MM-DD (a real calendar date)", path, line
            ) from None
    raise DigestError("front matter needs 'date: YYYY-MM-DD'", path, line)


def _sources(value: Any, path: Path, line: int) -> tuple[Source, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DigestError("front matter 'sources' must be a list of file and sha256", path, line)
    return tuple(_source(item, path, line) for item in value)


def _source(item: Any, path: Path, line: int) -> Source:
    if not isinstance(item, dict) or not {"file", "sha256"} <= set(item):
        raise DigestError("each front matter source needs 'file' and 'sha256'", path, line)
    ids = tuple(str(item.get("ids") or "").split())
    return Source(str(item["file"]), str(item["sha256"]), ids)


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], list[str], int]:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise DigestError("expected YAML front matter starting with '---' on line 1", path, 1)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise DigestError("front matter is not closed by a '---' line", path, 1) from None
    text = "\n".join(lines[1:end])
    refuse_aliases(text, _Loader, path, 2)
    try:
        front = yaml.load(text, Loader=_Loader) or {}  # noqa: S506 - safe
    except yaml.YAMLError as exc:
        message, line = explain_yaml_error(exc, lines[1:end])
        message = message.replace("invalid YAML", "invalid front matter", 1)
        raise DigestError(message, path, line + 1 if line else 1) from None
    if not isinstance(front, dict):
        raise DigestError("front matter must be a YAML mapping", path, 2)
    return front, lines[end + 1 :], end + 2


def _read_body(
    body: list[str], first_line: int, title: str, path: Path
) -> tuple[str, list[Section]]:
    blocks = _blocks(body, first_line, path)
    intro = _strip_title(blocks[0].lines, title)
    sections: list[Section] = []
    for block in blocks[1:]:
        assert block.heading is not None
        if block.heading.re is SECTION_HEADING:
            name, slug = block.heading["name"], block.heading["slug"]
            sections.append(Section(slug, name, (), _join(block.lines)))
        elif not sections:
            raise DigestError(
                "paper before any '## Theme {#slug}' section heading", path, block.line
            )
        else:
            paper = _read_paper(block, path)
            last = sections[-1]
            sections[-1] = replace(last, papers=(*last.papers, paper))
    return intro, sections


def _blocks(body: list[str], first_line: int, path: Path) -> list[_Block]:
    """Split the body at headings; a paper's abstract line is never taken for a heading.

    After a paper heading come blank lines, metadata lines, blank lines, then the abstract;
    only after the abstract can a line start a new block. ``## `` and ``### `` lines are the
    page's own headings: one that lost its ``{#...}`` anchor is refused, as it would
    otherwise turn a paper into the notes of the one above (and ingest would add it again).
    """
    blocks: list[_Block] = [_Block(None, first_line)]
    state = "notes"  # or: "before-meta", "meta", "after-meta" while the abstract is pending
    for number, line in enumerate(body, start=first_line):
        heading = _heading(line, path, number) if state == "notes" else None
        if heading:
            blocks.append(_Block(heading, number))
            state = "before-meta" if heading.re is PAPER_HEADING else "notes"
            continue
        blocks[-1].lines.append(line)
        state = _next_state(state, line)
    return blocks


def _next_state(state: str, line: str) -> str:
    blank = not line.strip()
    if state == "before-meta":
        return state if blank else "meta" if META_LINE.match(line) else "notes"
    if state == "meta":
        return "after-meta" if blank else state if META_LINE.match(line) else "notes"
    if state == "after-meta":
        return state if blank else "notes"
    return state


def _heading(line: str, path: Path, number: int) -> re.Match[str] | None:
    found = SECTION_HEADING.match(line) or PAPER_HEADING.match(line)
    if found is None and line.startswith(("## ", "### ")):
        kind = "paper heading needs its {#p-<id>} anchor (12 hex digits)"
        if line.startswith("## "):
            kind = "theme heading needs its {#slug} anchor (lowercase words joined by '-')"
        raise DigestError(
            f"this {kind}; put it back, or start a heading in a note with '####'", path, number
        )
    if found is not None and found.re is SECTION_HEADING and len(found["slug"]) > MAX_SLUG:
        raise DigestError(f"a theme slug is at most {MAX_SLUG} characters", path, number)
    return found


def _strip_title(lines: list[str], title: str) -> str:
    text = _join(lines)
    heading = f"# {title}"
    if text == heading or text.startswith(heading + "\n"):
        text = text[len(heading) :]
    return _join(text.split("\n"))


def _join(lines: Iterable[str]) -> str:
    """Join lines, dropping blank lines at both ends and trailing spaces on each."""
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _read_paper(block: _Block, path: Path) -> Paper:
    assert block.heading is not None
    lines = [line.rstrip() for line in block.lines]
    i = 0
    while i < len(lines) and not lines[i]:
        i += 1
    meta: list[tuple[str, str]] = []
    while i < len(lines) and (m := META_LINE.match(lines[i])):
        meta.append((m["key"].strip(), m["value"].strip()))
        i += 1
    while i < len(lines) and not lines[i]:
        i += 1
    fields = _paper_fields(meta, block, path)
    abstract = lines[i] if i < len(lines) else ""
    if fields["truncated"] and abstract == "*No abstract: the page was cut off.*":
        abstract = ""
    return Paper(
        id=block.heading["id"],
        title=block.heading["title"].strip(),
        abstract=abstract,
        notes=_join(lines[i + 1 :]),
        **fields,
    )


def _paper_fields(meta: list[tuple[str, str]], block: _Block, path: Path) -> dict[str, Any]:
    themes: tuple[str, ...] = ()
    why: dict[str, str] = {}
    first_seen = None
    truncated = False
    hand = False
    extra: list[tuple[str, str]] = []
    facts: dict[str, Any] = {}
    previous: tuple[str, ...] = ()
    for key, value in meta:
        if key == "themes":
            hand = value.endswith(HAND_MARK.strip())
            value = value.removesuffix(HAND_MARK.strip())
            themes = tuple(t.strip() for t in value.split(",") if t.strip() not in ("", "none"))
        elif key.startswith("why "):
            why[key[4:].strip()] = value
        elif key == "first seen":
            first_seen = _iso_meta(value, block, path)
        elif key == "truncated":
            truncated = value.lower() in ("yes", "true")
        elif key in META_KEYS and value:
            facts.update(_meta_value(META_KEYS[key], value, key, block, path))
        elif key == "previous ids" and PREVIOUS_IDS.fullmatch(value):
            previous = tuple(v.strip() for v in value.split(","))
        else:
            extra.append((key, value))
    return {
        "themes": themes,
        "why": why,
        "first_seen": first_seen,
        "truncated": truncated,
        "hand": hand,
        "extra": tuple(extra),
        "meta": Meta(**facts) if facts else NO_META,
        "previous_ids": previous,
    }


def _meta_value(name: str, value: str, key: str, block: _Block, path: Path) -> dict[str, Any]:
    """Read one metadata line of a :class:`Meta` field; a count that is no number is an error."""
    if name in COUNTS:
        if not (value.isascii() and value.isdigit()):
            raise DigestError(f"'{key}' must be a whole number, got {value!r}", path, block.line)
        return {name: int(value)}
    if name == "github":
        code = CODE.match(value)
        if code is None:
            return {name: value}
        stars = code["stars"]
        return {name: code["url"], "github_stars": int(stars) if stars else None}
    if name in ("authors", "keywords"):
        return {name: split_list(value)}
    return {name: value}


def _iso_meta(value: str, block: _Block, path: Path) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DigestError(
            f"'first seen' must be YYYY-MM-DD, got {value!r}", path, block.line
        ) from None


def themes_line(text: str, paper_id: str) -> int | None:
    """Return the line of a paper's ``- themes:`` line in a page's text (for messages)."""
    lines = text.split("\n")
    heading = next((i for i, line in enumerate(lines) if f"{{#p-{paper_id}}}" in line), None)
    if heading is None:
        return None
    found = (i for i in range(heading, len(lines)) if lines[i].startswith("- themes:"))
    at = next(found, heading)
    return at + 1


def read_day(path: Path) -> Day:
    """Read a digest page from disk."""
    return parse_day(decode_page(path.read_bytes(), path), path)


def decode_page(data: bytes, path: Path) -> str:
    """Decode a digest page's bytes, or say which file is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DigestError("is not UTF-8 text", path) from None


def unchanged_by_reading(text: str, path: Path) -> int | None:
    """Return the first line whose content reading and rewriting ``text`` would lose, or None.

    Whitespace at line ends, runs of blank lines and the derived front matter (paper counts) do
    not count; everything else a person typed must come back, or the page is not safe to rewrite.
    """
    day = parse_day(text, path)
    again = _comparable(_body(render_day(day, ())))
    original = _comparable(_body(text))
    for mine, theirs in zip(again, original, strict=False):
        if mine[1] != theirs[1]:
            return theirs[0]
    if len(again) != len(original):
        return original[min(len(again), len(original) - 1)][0] if original else 1
    return None


def _body(text: str) -> list[tuple[int, str]]:
    """Return the numbered lines after the front matter (read_day has already checked it)."""
    lines = list(enumerate(text.replace("\r\n", "\n").split("\n"), start=1))
    end = next(i for i in range(1, len(lines)) if lines[i][1].strip() == "---")
    return lines[end + 1 :]


def _comparable(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(number, line.rstrip()) for number, line in lines if line.strip()]
