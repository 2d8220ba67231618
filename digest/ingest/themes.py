"""Themes: read their YAML configuration (the matching itself is in :mod:`digest.classify`).

Themes are data, not code: each has a slug, a name, a description and match rules. A rule is a
``phrase`` (words matched case-insensitively on word boundaries; a trailing ``*`` matches any word
ending) or a ``pattern`` (a regular expression, also bounded by word boundaries), with a
``weight``. The file's ``where:`` says how much a hit counts by where it stands, and ``cues:``
which words mark a sentence as stating the contribution or a use as negated or contrasted.
Files of the first format (``title_weight``, ``abstract_weight``, no ``where:``) load and score
as before. Every mistake names the file and line.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.ingest.classify import FIELDS, check_forms, classify, match_theme, phrase_pattern
from digest.model import OTHER, PLACES, Cues, Places, Rule, Theme
from digest.yamlfile import (
    ITEM_LINES,
    KEY_LINES,
    LINE_KEY,
    line_of,
    line_of_item,
    load_yaml,
    shown,
)

__all__ = ["classify", "load_themes", "match_theme", "phrase_pattern"]

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FILE_KEYS = {"themes", "where", "cues"}
LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters and line breaks: a name with one writes a heading no page can read."""
THEME_KEYS = {
    "slug",
    "name",
    "description",
    "match",
    "exclude",
    "threshold",
    "where",
    "title_weight",
    "abstract_weight",
}
RULE_KEYS = {"phrase", "pattern", "name", "weight", "in"}
CUE_KEYS = {"claim", "contrast"}
ABSTRACT_PLACES = tuple(p for p in PLACES if p != "title")


def load_themes(path: Path) -> tuple[Theme, ...]:
    """Load and validate a themes file; every mistake names the file and line."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
        raise DigestError("expected a mapping with a 'themes:' list", path, line_of(data))
    _known(data, FILE_KEYS, "top-level key", path, line_of(data))
    where = _places(data.get("where"), {}, path, line_of(data))
    cues = _cues(data.get("cues"), path, line_of(data))
    themes = tuple(_theme(item, where, cues, path) for item in data["themes"])
    slugs = [theme.slug for theme in themes]
    for i, slug in enumerate(slugs):
        if slug in slugs[:i]:
            line = line_of(data["themes"][i], "slug")
            raise DigestError(f"theme slug {slug!r} is used twice", path, line)
    return themes


def _known(
    item: dict[str, Any], allowed: set[str], what: str, path: Path, line: int | None
) -> None:
    unknown = set(item) - allowed - {LINE_KEY, KEY_LINES, ITEM_LINES}
    if unknown:
        raise DigestError(
            f"unknown {what}(s) {sorted(unknown)}; allowed: {sorted(allowed)}", path, line
        )


def _places(item: Any, base: dict[str, float], path: Path, line: int | None) -> dict[str, float]:
    """Read a ``where:`` mapping of place weights over ``base``."""
    if item is None:
        return dict(base)
    line = line_of(item) or line
    if not isinstance(item, dict):
        raise DigestError(f"'where' must map places ({', '.join(PLACES)}) to weights", path, line)
    _known(item, set(PLACES), "place", path, line)
    return base | {key: _number(item, key, 0.0, path) for key in PLACES if key in item}


def _cues(item: Any, path: Path, line: int | None) -> Cues:
    if item is None:
        return Cues()
    line = line_of(item) or line
    if not isinstance(item, dict):
        raise DigestError(
            "'cues' must be a mapping with 'claim' and/or 'contrast' lists", path, line
        )
    _known(item, CUE_KEYS, "cue list", path, line)
    lists = {}
    for key in CUE_KEYS:
        rules = item.get(key) or []
        if not isinstance(rules, list):
            raise DigestError(f"cues {key!r} must be a list of phrases or patterns", path, line)
        lists[key] = tuple(_rule(rule, path, line, cue=True) for rule in rules)
    return Cues(**lists)


def _theme(item: Any, where: dict[str, float], cues: Cues, path: Path) -> Theme:
    line = line_of(item)
    if not isinstance(item, dict):
        raise DigestError("each theme must be a mapping with slug, name and match", path, line)
    _known(item, THEME_KEYS, "theme key", path, line)
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
            f"theme name must be one line of text, got {shown(name)}", path, line_of(item, "name")
        )
    rules = item.get("match")
    if not isinstance(rules, list) or not rules:
        raise DigestError(f"theme {slug!r} needs a non-empty 'match:' list", path, line)
    exclude = item.get("exclude") or []
    if not isinstance(exclude, list):
        raise DigestError(f"theme {slug!r}: 'exclude' must be a list of rules", path, line)
    return Theme(
        slug=slug,
        name=name.strip(),
        description=str(item.get("description") or "").strip(),
        rules=tuple(_rule(r, path, line_of_item(item, "match", i)) for i, r in enumerate(rules)),
        exclude=tuple(
            _rule(r, path, line_of_item(item, "exclude", i)) for i, r in enumerate(exclude)
        ),
        threshold=_number(item, "threshold", 2.0, path),
        places=Places(**_theme_places(item, where, path, line)),
        cues=cues,
    )


def _theme_places(
    item: dict[str, Any], where: dict[str, float], path: Path, line: int | None
) -> dict[str, float]:
    """Merge the file's place weights, a theme's old field weights and its own ``where:``.

    ``title_weight: x`` is short for ``where: {title: x}`` and ``abstract_weight: y`` for every
    abstract place at ``y``: that is what they meant before places existed.
    """
    merged = dict(where)
    if "title_weight" in item:
        merged["title"] = _number(item, "title_weight", 2.0, path)
    if "abstract_weight" in item:
        weight = _number(item, "abstract_weight", 1.0, path)
        merged |= {place: weight for place in ABSTRACT_PLACES}
    return _places(item.get("where"), merged, path, line)


def _number(item: dict[str, Any], key: str, default: float, path: Path) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DigestError(f"{key} must be a number, got {shown(value)}", path, line_of(item, key))
    return float(value)


def _rule(item: Any, path: Path, theme_line: int | None, *, cue: bool = False) -> Rule:
    line = line_of(item) or theme_line
    if isinstance(item, str):
        item = {"phrase": item}
    if not isinstance(item, dict) or ("phrase" in item) == ("pattern" in item):
        raise DigestError(
            "a rule is a phrase string, or a mapping with exactly one of 'phrase' or 'pattern'",
            path,
            line,
        )
    _known(item, {"phrase", "pattern", "name"} if cue else RULE_KEYS, "rule key", path, line)
    fields = item.get("in", "both")
    if fields not in (*FIELDS, "both"):
        raise DigestError(f"rule 'in' must be title, abstract or both, got {fields!r}", path, line)
    text = item.get("phrase") or item.get("pattern")
    if not isinstance(text, str) or not text.strip():
        raise DigestError("a rule's phrase or pattern must be non-empty text", path, line)
    pattern = phrase_pattern(text) if "phrase" in item else text
    try:
        check_forms(pattern)
    except re.error as exc:
        raise DigestError(f"invalid pattern {text!r}: {exc}", path, line) from None
    return Rule(
        label=str(item.get("name") or text),
        pattern=pattern,
        weight=_number(item, "weight", 1.0, path),
        fields=FIELDS if fields == "both" else (fields,),
    )


def with_fitted(
    themes: tuple[Theme, ...], places: Places, thresholds: dict[str, float]
) -> tuple[Theme, ...]:
    """Return the themes with fitted place weights and thresholds (others keep theirs)."""
    return tuple(
        replace(theme, places=places, threshold=thresholds.get(theme.slug, theme.threshold))
        for theme in themes
    )
