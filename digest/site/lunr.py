"""digest's writer of lunr.js 2.3.9's serialised index format.

:func:`lunr_index` writes what lunr.py 0.8 would (the same tokenizer, trimmer, stop words,
Porter stemmer and BM25 vectors), several times faster; ``tests/test_search.py`` checks it is
identical to lunr.py's on the sample. Indexed fields and their boosts are :data:`FIELDS`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lunr import __TARGET_JS_VERSION__
from lunr.stemmer import porter_stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token

FIELDS: tuple[tuple[str, int], ...] = (
    ("title", 10),
    ("abstract", 1),
    ("themes", 1),
    ("author", 1),
)
"""Indexed fields and their boosts: a title hit outweighs many abstract hits. ``author`` holds
every author's name, so ``author:lovelace`` finds a paper by one of them."""
K1 = 1.2
B = 0.75
SEPARATOR = re.compile(r"[ \t\n\r\f\v\xa0\-]+")
TRIM = re.compile(r"^\W*?([^\W]+)\W*?$")


@lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    """Run lunr's index pipeline (trimmer, stop word filter, stemmer) on one token."""
    match = TRIM.match(word)
    trimmed = match.group(1) if match else word
    if not trimmed or stop_word_filter(Token(trimmed)) is None:
        return ""
    return str(porter_stemmer.stem(trimmed))


def terms(text: str) -> list[str]:
    """Return the index terms of a field, exactly as lunr.py's tokenizer and pipeline would."""
    return list(filter(None, map(_term, SEPARATOR.split(text.lower()))))


@dataclass
class _FieldCounts:
    """One field of one document: its term frequencies (first-occurrence order) and length."""

    doc_ref: str
    counts: Counter[str]
    length: int


def lunr_index(docs: Iterable[dict[str, str]], ref: str = "id") -> dict[str, Any]:
    """Build a lunr index of ``docs`` over FIELDS and return its serialised form.

    lunr numbers terms in the order it first meets them (document by document, field by
    field); the numbers order each field vector, so they are kept here in the same way.
    """
    fields = [name for name, _ in FIELDS]
    position: dict[str, int] = {}
    postings: dict[str, defaultdict[str, dict[str, Any]]] = {f: defaultdict(dict) for f in fields}
    counted: dict[str, list[_FieldCounts]] = {f: [] for f in fields}
    seen: dict[str, Any] = {}  # a posting's per-document metadata: always empty, so shared
    for doc in docs:
        doc_ref = str(doc[ref])
        for field in fields:
            found = terms(doc.get(field) or "")
            counts = Counter(found)  # keeps first-occurrence order
            field_postings = postings[field]
            for term in counts:
                position.setdefault(term, len(position))
                field_postings[term][doc_ref] = seen
            counted[field].append(_FieldCounts(doc_ref, counts, len(found)))
    inverted = [
        [term, {"_index": position[term]} | {f: postings[f].get(term, {}) for f in fields}]
        for term in sorted(position)
    ]
    return {
        "fieldVectors": _field_vectors(counted, postings, position),
        "fields": fields,
        "invertedIndex": inverted,
        "pipeline": ["stemmer"],
        "version": __TARGET_JS_VERSION__,
    }


def _field_vectors(
    counted: dict[str, list[_FieldCounts]],
    postings: dict[str, defaultdict[str, dict[str, Any]]],
    position: dict[str, int],
) -> list[list[Any]]:
    """Return lunr's BM25 field vectors, with lunr's arithmetic order and rounding."""
    documents = len(next(iter(counted.values()), []))
    idf = {term: _idf(term, postings, documents) for term in position}
    where = position.__getitem__
    by_field: list[list[list[Any]]] = []
    for field, boost in FIELDS:
        rows = counted[field]
        average = sum(row.length for row in rows) / len(rows) if rows else 0.0
        vectors: list[list[Any]] = []
        for row in rows:
            counts = row.counts
            # The same operations in the same order as lunr, so every float rounds the same
            # way; the length norm is only computed once per field instead of once per term.
            norm = K1 * (1 - B + B * (row.length / average)) if counts else 0.0
            order = sorted(counts, key=where)
            flat: list[Any] = [None] * (2 * len(order))
            flat[0::2] = map(where, order)
            flat[1::2] = [
                round(idf[t] * ((K1 + 1) * counts[t]) / (norm + counts[t]) * boost, 3)
                for t in order
            ]
            vectors.append([f"{field}/{row.doc_ref}", flat])
        by_field.append(vectors)
    # lunr lists vectors document by document, each document's fields in FIELDS order.
    return [vector for group in zip(*by_field, strict=True) for vector in group]


def _idf(term: str, postings: dict[str, defaultdict[str, dict[str, Any]]], documents: int) -> float:
    """Return lunr's inverse document frequency (a paper counts once per field it is in)."""
    with_term = sum(len(field_postings.get(term, ())) for field_postings in postings.values())
    x = (documents - with_term + 0.5) / (with_term + 0.5)
    return math.log(1 + abs(x))
