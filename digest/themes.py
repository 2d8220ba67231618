"""Themes: read their YAML configuration and match papers against their rules.

Themes are data, not code: each has a slug, a name, a description and match rules. A rule is a
``phrase`` (words matched case-insensitively on word boundaries; a trailing ``*`` matches any word
ending) or a ``pattern`` (a regular expression, also bounded by word boundaries). Each hit adds
``weight`` x the field's weight (``title_weight`` or ``abstract_weight``) to the theme's score; a
paper is in the theme when the score reaches ``threshold`` and no ``exclude`` rule matched. Every
hit is recorded, so a page can say why a paper is in a theme.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.model import OTHER, Match, Rule, Theme
from digest.yamlfile import line_of, load_yaml

FIELDS = ("title", "abstract")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
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
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise DigestError(f"theme slug {slug!r} is used twice", path)
    return themes


def _theme(item: Any, path: Path) -> Theme:
    line = line_of(item)
    if not isinstance(item, dict):
        raise DigestError("each theme must be a mapping with slug, name and match", path, line)
    unknown = set(item) - THEME_KEYS - {"__line__"}
    if unknown:
        raise DigestError(
            f"unknown theme key(s) {sorted(unknown)}; allowed: {sorted(THEME_KEYS)}", path, line
        )
    slug = item.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug) or slug == OTHER:
        raise DigestError(
            f"theme slug must be lowercase words joined by '-' (not {OTHER!r}), got {slug!r}",
            path,
            line,
        )
    rules = item.get("match")
    if not isinstance(rules, list) or not rules:
        raise DigestError(f"theme {slug!r} needs a non-empty 'match:' list", path, line)
    return Theme(
        slug=slug,
        name=str(item.get("name") or slug),
        description=str(item.get("description") or "").strip(),
        rules=tuple(_rule(rule, path, line) for rule in rules),
        exclude=tuple(_rule(rule, path, line) for rule in item.get("exclude") or ()),
        title_weight=_number(item, "title_weight", 2.0, path),
        abstract_weight=_number(item, "abstract_weight", 1.0, path),
        threshold=_number(item, "threshold", 2.0, path),
    )


def _number(item: dict[str, Any], key: str, default: float, path: Path) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DigestError(f"{key} must be a number, got {value!r}", path, line_of(item))
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
    unknown = set(item) - RULE_KEYS - {"__line__"}
    if unknown:
        raise DigestError(f"unknown rule key(s) {sorted(unknown)}", path, line)
    fields = item.get("in", "both")
    if fields not in (*FIELDS, "both"):
        raise DigestError(f"rule 'in' must be title, abstract or both, got {fields!r}", path, line)
    text = str(item.get("phrase") or item.get("pattern"))
    pattern = phrase_pattern(text) if "phrase" in item else text
    try:
        _compiled(pattern)
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


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compile a rule for lowercased text: a fast bare search and the exact word-bounded form.

    Case-insensitive matching and a leading look-behind both stop Python's regex engine from
    scanning for a literal prefix, which made matching 50x slower; so texts are lowercased once
    and the bare pattern finds candidates that the bounded pattern then confirms.
    """
    lowered = _lower_literals(pattern)
    return re.compile(lowered), re.compile(rf"(?<!\w)(?:{lowered})(?!\w)")


def _lower_literals(pattern: str) -> str:
    """Lowercase a regex's letters except escape sequences (``\\S`` must stay ``\\S``)."""
    out = []
    escaped = False
    for char in pattern:
        out.append(char if escaped else char.lower())
        escaped = not escaped and char == "\\"
    return "".join(out)


def search_rule(rule: Rule, lowered: str) -> re.Match[str] | None:
    """Return the first word-bounded match of ``rule`` in lowercased text."""
    bare, bounded = _compiled(rule.pattern)
    position = 0
    while (candidate := bare.search(lowered, position)) is not None:
        confirmed = bounded.match(lowered, candidate.start())
        if confirmed:
            return confirmed
        position = candidate.start() + 1
    return None


@dataclass(frozen=True)
class Texts:
    """A paper's fields, original and lowercased once for matching."""

    original: dict[str, str]
    lowered: dict[str, str]

    @classmethod
    def of(cls, title: str, abstract: str) -> Texts:
        original = {"title": title, "abstract": abstract}
        return cls(original, {k: v.lower() for k, v in original.items()})

    def shown(self, field: str, found: re.Match[str]) -> str:
        """Return the matched words as the paper wrote them (case kept where lengths agree)."""
        text, lowered = self.original[field], self.lowered[field]
        source = text if len(text) == len(lowered) else lowered
        return " ".join(source[found.start() : found.end()].split())


def _hits(rules: Iterable[Rule], texts: Texts) -> Iterable[tuple[Rule, str, str]]:
    for rule in rules:
        for field in rule.fields:
            found = search_rule(rule, texts.lowered[field])
            if found:
                yield rule, field, texts.shown(field, found)


def match_theme(theme: Theme, title: str, abstract: str) -> Match | None:
    """Return why a paper is in ``theme``, or None if it is not."""
    return _match(theme, Texts.of(title, abstract))


def _match(theme: Theme, texts: Texts) -> Match | None:
    if any(True for _ in _hits(theme.exclude, texts)):
        return None
    field_weight = {"title": theme.title_weight, "abstract": theme.abstract_weight}
    score = 0.0
    reasons = []
    for rule, field, found in _hits(theme.rules, texts):
        score += rule.weight * field_weight[field]
        reasons.append(f"{field} “{found}”")
    if score < theme.threshold or not reasons:
        return None
    return Match(theme.slug, round(score, 3), tuple(reasons))


def classify(themes: Sequence[Theme], title: str, abstract: str) -> tuple[Match, ...]:
    """Return the matching themes, strongest first (ties in configuration order)."""
    texts = Texts.of(title, abstract)
    matches = [m for theme in themes if (m := _match(theme, texts))]
    order = {theme.slug: i for i, theme in enumerate(themes)}
    return tuple(sorted(matches, key=lambda m: (-m.score, order[m.theme])))
