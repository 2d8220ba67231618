"""The themes file (``content/themes.yaml``): read it and check every theme and rule in it.

Themes are data, not code: each has a slug, a name, a description and match rules. A rule is a
``phrase`` (words matched case-insensitively on word boundaries; a trailing ``*`` matches any word
ending) or a ``pattern`` (a regular expression, also bounded by word boundaries). Every mistake
names the file and line. How rules score a paper is :mod:`digest.ingest.classify`'s business.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.ingest.classify import FIELDS, compile_rule
from digest.model import OTHER, Rule, Theme
from digest.yamlfile import ITEM_LINES, KEY_LINES, LINE_KEY, line_of, line_of_item, load_yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters and line breaks: a name with one writes a heading no page can read."""
THEME_KEYS = {
    "slug",
    "name",
    "description",
    "match",
    "exclude",
    "threshold",
    "title_weight",
    "abstract_weight",
}
RULE_KEYS = {"phrase", "pattern", "weight", "in"}


def load_themes(path: Path) -> tuple[Theme, ...]:
    """Load and validate a themes file; every mistake names the file and line."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
        raise DigestError("expected a mapping with a 'themes:' list", path, line_of(data))
    themes = tuple(_theme(item, path) for item in data["themes"])
    slugs = [theme.slug for theme in themes]
    for i, slug in enumerate(slugs):
        if slug in slugs[:i]:
            line = line_of(data["themes"][i], "slug")
            raise DigestError(f"theme slug {slug!r} is used twice", path, line)
    return themes


def _theme(item: Any, path: Path) -> Theme:
    line = line_of(item)
    if not isinstance(item, dict):
        raise DigestError("each theme must be a mapping with slug, name and match", path, line)
    unknown = set(item) - THEME_KEYS - {LINE_KEY, KEY_LINES, ITEM_LINES}
    if unknown:
        raise DigestError(
            f"unknown theme key(s) {sorted(unknown)}; allowed: {sorted(THEME_KEYS)}", path, line
        )
    slug = item.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug) or slug == OTHER or len(slug) > 64:
        raise DigestError(
            f"theme slug must be lowercase words joined by '-' (not {OTHER!r}), at most 64 "
            f"characters, got {slug!r}",
            path,
            line_of(item, "slug") or line,
        )
    name = item.get("name") or slug
    if not isinstance(name, str) or not name.strip() or LINE_BREAKING.search(name):
        raise DigestError(
            f"theme name must be one line of text, got {name!r}", path, line_of(item, "name")
        )
    rules = item.get("match")
    if not isinstance(rules, list) or not rules:
        raise DigestError(f"theme {slug!r} needs a non-empty 'match:' list", path, line)
    return Theme(
        slug=slug,
        name=name.strip(),
        description=str(item.get("description") or "").strip(),
        rules=tuple(_rule(r, path, line_of_item(item, "match", i)) for i, r in enumerate(rules)),
        exclude=tuple(
            _rule(r, path, line_of_item(item, "exclude", i))
            for i, r in enumerate(item.get("exclude") or ())
        ),
        title_weight=_number(item, "title_weight", 2.0, path),
        abstract_weight=_number(item, "abstract_weight", 1.0, path),
        threshold=_number(item, "threshold", 2.0, path),
    )


def _number(item: dict[str, Any], key: str, default: float, path: Path) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DigestError(f"{key} must be a number, got {value!r}", path, line_of(item, key))
    return float(value)


def _rule(item: Any, path: Path, theme_line: int | None) -> Rule:
    line = line_of(item) or theme_line
    if isinstance(item, str):
        item = {"phrase": item}
    if not isinstance(item, dict) or ("phrase" in item) == ("pattern" in item):
        raise DigestError(
            "a rule is a phrase string, or a mapping with exactly one of 'phrase' or 'pattern'",
            path,
            line,
        )
    unknown = set(item) - RULE_KEYS - {LINE_KEY, KEY_LINES, ITEM_LINES}
    if unknown:
        raise DigestError(f"unknown rule key(s) {sorted(unknown)}", path, line)
    fields = item.get("in", "both")
    if fields not in (*FIELDS, "both"):
        raise DigestError(f"rule 'in' must be title, abstract or both, got {fields!r}", path, line)
    text = str(item.get("phrase") or item.get("pattern"))
    pattern = phrase_pattern(text) if "phrase" in item else text
    try:
        compile_rule(pattern)
    except re.error as exc:
        raise DigestError(f"invalid pattern {text!r}: {exc}", path, line) from None
    return Rule(
        label=text,
        pattern=pattern,
        weight=_number(item, "weight", 1.0, path),
        fields=FIELDS if fields == "both" else (fields,),
    )


def phrase_pattern(phrase: str) -> str:
    """Turn a phrase into a regex: words separated by any space or hyphen, ``*`` = word ending."""
    words = phrase.split()
    parts = []
    for word in words:
        stem = re.escape(word.rstrip("*"))
        parts.append(stem + (r"\w*" if word.endswith("*") else ""))
    return r"[\s\-]+".join(parts)
