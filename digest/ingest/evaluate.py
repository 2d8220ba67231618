"""Measure the theme matcher against labelled papers: precision, recall and F1 per theme."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.ingest.classify import classify
from digest.ingest.parse import normalise_title, parse_file
from digest.model import Theme
from digest.pages.cache import load_stored_days


@dataclass(frozen=True)
class Labelled:
    """A paper with the themes people gave it."""

    title: str
    abstract: str
    themes: frozenset[str]


@dataclass(frozen=True)
class Score:
    """Agreement of the matcher with the labels for one theme."""

    theme: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_labels(path: Path, abstracts: dict[str, str]) -> list[Labelled]:
    """Read a labels file (``[{"title", "themes", optional "abstract"}]``).

    Labels usually carry only titles, so abstracts are looked up by normalised title in
    ``abstracts`` (from the project's dumps and digests, or the dumps given on the command line).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DigestError("labels file not found", path) from None
    except UnicodeDecodeError:
        raise DigestError("is not UTF-8 text", path) from None
    except json.JSONDecodeError as exc:
        raise DigestError(f"not a JSON labels file: {exc.msg}", path, exc.lineno) from None
    if not isinstance(data, list):
        raise DigestError('expected a JSON list of {"title": ..., "themes": [...]}', path)
    labelled = [_labelled(item, i, path, abstracts) for i, item in enumerate(data)]
    missing = [item for item in labelled if not item.abstract]
    if missing:
        raise DigestError(
            f"{len(missing)} labelled title(s) have no abstract, e.g. {missing[0].title!r}; "
            "add an 'abstract' to each label or pass the dumps they come from with --from",
            path,
        )
    return labelled


def _labelled(item: Any, index: int, path: Path, abstracts: dict[str, str]) -> Labelled:
    if not isinstance(item, dict) or not isinstance(item.get("title"), str):
        raise DigestError(f"label #{index + 1} needs a 'title' string", path)
    themes = item.get("themes", [])
    if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
        raise DigestError(f"label #{index + 1} needs 'themes' as a list of slugs", path)
    abstract = item.get("abstract") or abstracts.get(normalise_title(item["title"]), "")
    return Labelled(item["title"], str(abstract), frozenset(themes))


def evaluate(themes: Sequence[Theme], labelled: Iterable[Labelled]) -> list[Score]:
    """Score every configured theme against the labels."""
    counts = {theme.slug: [0, 0, 0] for theme in themes}
    for item in labelled:
        predicted = {m.theme for m in classify(themes, item.title, item.abstract)}
        for slug, (tp_fp_fn) in counts.items():
            truth, guess = slug in item.themes, slug in predicted
            tp_fp_fn[0] += truth and guess
            tp_fp_fn[1] += guess and not truth
            tp_fp_fn[2] += truth and not guess
    return [Score(slug, *c) for slug, c in counts.items()]


def misses(themes: Sequence[Theme], labelled: Iterable[Labelled]) -> list[tuple[str, str, str]]:
    """List ("FP" or "FN", theme, title) for every disagreement, to see what rules miss."""
    found = []
    for item in labelled:
        predicted = {m.theme for m in classify(themes, item.title, item.abstract)}
        found += [("FP", slug, item.title) for slug in sorted(predicted - item.themes)]
        found += [("FN", slug, item.title) for slug in sorted(item.themes - predicted)]
    return found


def mean_f1(scores: Sequence[Score]) -> float:
    """Return the unweighted mean F1 over themes (each theme counts the same)."""
    return sum(s.f1 for s in scores) / len(scores) if scores else 0.0


def known_abstracts(dumps: Iterable[Path], digests_dir: Path | None) -> dict[str, str]:
    """Map normalised titles to abstracts from raw dumps, then from a project's digest pages."""
    abstracts: dict[str, str] = {}
    for path in dumps:
        for entry in parse_file(path, date=dt.date(2000, 1, 1)):
            abstracts.setdefault(normalise_title(entry.title), entry.abstract)
    if digests_dir is not None:
        for stored in load_stored_days(digests_dir).values():
            for _, paper in stored.day.placed_papers():
                abstracts.setdefault(normalise_title(paper.title), paper.abstract)
    return abstracts


def report_lines(scores: Sequence[Score], papers: int) -> Iterator[str]:
    """Yield the table ``digest themes eval`` prints: one line per theme, then the mean."""
    yield f"{'theme':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>4} {'FP':>4} {'FN':>4}"
    for s in scores:
        yield (
            f"{s.theme:<20} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f}"
            f" {s.tp:>4} {s.fp:>4} {s.fn:>4}"
        )
    yield f"{'mean F1':<20} {'':>9} {'':>7} {mean_f1(scores):>6.3f}   ({papers} papers)"
