"""lunr's text analysis, and the compact encodings the search pieces are written in.

The browser runs unmodified lunr.js 2.3.9 over an index it assembles from pieces (see
``templates/static/search.js``). For its scores to equal those of one lunr index built by
lunr.py 0.8 over every paper, the pieces carry what lunr's BM25 entries are computed from:
each term's postings (document, term frequency), each document's field lengths. The browser
computes every entry with lunr's own float operations, so no stored number depends on how many
papers the site has, and a new day leaves old pieces alone.

The terms are lunr.py's: its tokenizer (split on whitespace and hyphens), trimmer, English
stop word filter and Porter stemmer; ``tests/test_search.py`` holds them to lunr.py's index.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from lunr import __TARGET_JS_VERSION__, __VERSION__
from lunr.stemmer import porter_stemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token

LUNR_VERSION: str = __TARGET_JS_VERSION__
ANALYSER = f"lunr.py {__VERSION__} for lunr.js {__TARGET_JS_VERSION__}"
"""What turns text into terms (its tokenizer, stemmer, stop words): a block's analysis, cached
between builds, is only reused under the same one."""
K1 = 1.2
B = 0.75
SEPARATOR = re.compile(r"[ \t\n\r\f\v\xa0\-]+")
TRIM = re.compile(r"^\W*?([^\W]+)\W*?$")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
"""VLQ digits, as in source maps: 5 bits of value each, and a bit saying another follows."""
_DIGIT = {c: i for i, c in enumerate(ALPHABET)}
SMALL = 4096

Posting = tuple[int, int, tuple[int, ...]]
"""(document number, term frequency, token positions when the field keeps them, else ()).

The field's length in that document, the rest of lunr's BM25 entry, is a property of the
document, not of the posting: it is stored once a paper (the analysis's ``sizes``, the
position pieces), not in each of the ~90 postings of a paper (which was 44% of the chunks'
gzip bytes)."""


@lru_cache(maxsize=400_000)
def term(word: str) -> str:
    """Run lunr.py's index pipeline (trimmer, stop word filter, stemmer) on one token."""
    match = TRIM.match(word)
    trimmed = match.group(1) if match else word
    if not trimmed or stop_word_filter(Token(trimmed)) is None:
        return ""
    return str(porter_stemmer.stem(trimmed))


def analyze(text: str) -> list[tuple[str, int]]:
    """Return a field's index terms with their token positions, as lunr.py's pipeline has them.

    Positions count every token of the field, stop words included, so "quantization of
    vectors" puts its two terms two apart: the search page matches phrases by these.
    """
    tokens = [t for t in SEPARATOR.split(text.lower()) if t]
    found = ((term(token), i) for i, token in enumerate(tokens))
    return [(t, i) for t, i in found if t]


def terms(text: str) -> list[str]:
    """Return the index terms of a field, exactly as lunr.py's tokenizer and pipeline would."""
    return [t for t, _ in analyze(text)]


ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def js_sorted(terms: Iterable[str]) -> list[str]:
    """Sort terms as JavaScript compares strings (:func:`utf16_key`).

    Without characters beyond the Basic Multilingual Plane (encoded as surrogates in
    UTF-16), code point order is UTF-16 order, and Python's own sort needs no key: a tenth
    of the time for the 100,000 terms every build sorts.
    """
    found = list(terms)
    if ASTRAL.search("".join(found)):
        found.sort(key=utf16_key)
    else:
        found.sort()
    return found


def utf16_key(text: str) -> bytes:
    """Order terms as JavaScript compares strings (by UTF-16 code units), so both agree."""
    return text.encode("utf-16-be")


def _vlq(value: int) -> str:
    digits = []
    while True:
        digit = value & 31
        value >>= 5
        if value:
            digits.append(ALPHABET[digit | 32])
        else:
            digits.append(ALPHABET[digit])
            return "".join(digits)


VLQ_SMALL = [_vlq(v) for v in range(SMALL)]
"""The digits of every value below SMALL, looked up rather than computed."""


def vlq(value: int) -> str:
    """Encode a non-negative integer in as few VLQ digits as it needs (1 below 32)."""
    return VLQ_SMALL[value] if value < SMALL else _vlq(value)


def vlqs(values: Iterable[int]) -> str:
    """Encode a sequence of non-negative integers."""
    small = VLQ_SMALL
    return "".join(small[v] if v < SMALL else _vlq(v) for v in values)


def unvlqs(text: str) -> list[int]:
    """Decode what :func:`vlqs` wrote."""
    values: list[int] = []
    value = shift = 0
    for char in text:
        digit = _DIGIT[char]
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
        else:
            values.append(value)
            value = shift = 0
    return values


def encode_postings(postings: Sequence[Posting], positional: bool, previous: int = -1) -> str:
    """Encode one field's postings of one term, in document order.

    Each posting is ``2 * gap + (tf > 1)`` (gap: documents skipped since the last one), then
    ``tf - 2`` if tf > 1, and for positional fields the tf token positions, each as the gap
    from the one before. A posting takes 1 to 3 digits.
    """
    small = VLQ_SMALL
    out: list[str] = []
    for doc, tf, positions in postings:
        head = 2 * (doc - previous - 1) + (tf > 1)
        out.append(small[head] if head < SMALL else _vlq(head))
        if tf > 1:
            out.append(small[tf - 2] if tf - 2 < SMALL else _vlq(tf - 2))
        if positional:
            last = -1
            for position in positions:
                gap = position - last - 1
                out.append(small[gap] if gap < SMALL else _vlq(gap))
                last = position
        previous = doc
    return "".join(out)


def decode_postings(text: str, positional: bool, previous: int = -1) -> list[Posting]:
    """Decode what :func:`encode_postings` wrote."""
    values = unvlqs(text)
    postings: list[Posting] = []
    i = 0
    while i < len(values):
        head = values[i]
        doc = previous + 1 + (head >> 1)
        i += 1
        tf = 1
        if head & 1:
            tf = values[i] + 2
            i += 1
        positions: tuple[int, ...] = ()
        if positional:
            found = []
            last = -1
            for gap in values[i : i + tf]:
                last += gap + 1
                found.append(last)
            positions = tuple(found)
            i += tf
        postings.append((doc, tf, positions))
        previous = doc
    return postings


# --- analysis of a block of papers ----------------------------------------------------------

Segment = tuple[int, int, int, int, str]
"""One field's postings of a term in a block: (count, first doc, last doc, first flag, rest).

``rest`` is the encoding after the first posting's gap; joining blocks re-encodes only that gap.
"""
Run = tuple[Any, ...]
"""A term in a block: (first doc, rank in that doc, volume, last doc, then a Segment or None
for each field)."""
RUN_SEGMENTS = 4
"""Where a run's segments start."""
Analysis = dict[str, Any]
"""A block's analysis: ``{"docs": n, "sizes": each field's length in each paper (a list per
field), "papers": a hash of each paper's text, "runs": {term: Run}, "digest": a hash of all
that}``, and for a block analysed again after an edit, "edits": its log (not hashed; see
:func:`digest.site.search.edits_since`). Plain data (marshal)."""


def analyze_block(texts: Sequence[Sequence[str]], positional: Sequence[bool]) -> Analysis:
    """Tokenise papers (their fields' texts, in lunr's order) into per-term postings.

    Papers are numbered from 0 within the block. A term's rank is its place among its first
    paper's terms in order of first occurrence (first field first): with that paper's number
    it orders terms as lunr numbers them. Postings are encoded as they are found: this is the
    hot loop of a cold build, about 110 postings a paper.
    """
    states: dict[str, list[Any]] = {}
    first: dict[str, tuple[int, int]] = {}
    width = len(positional)
    sizes: list[list[int]] = [[] for _ in range(width)]
    for local, fields in enumerate(texts):
        rank: dict[str, int] = {}
        for f, text in enumerate(fields):
            counts, positions = _field_terms(text, positional[f])
            sizes[f].append(sum(counts.values()))
            for found, tf in counts.items():
                if found not in rank:
                    rank[found] = len(rank)
                state = states.get(found)
                if state is None:
                    state = states[found] = [None] * width
                    first[found] = (local, rank[found])
                _add_posting(state, f, local, tf, positions.get(found, ()))
    runs = {t: _run(first[t], state) for t, state in states.items()}
    papers = [_sha16("\0".join(fields)) for fields in texts]
    analysis: Analysis = {
        "docs": len(texts),
        "sizes": sizes,
        "papers": papers,
        "runs": runs,
    }
    analysis["digest"] = analysis_digest(analysis)
    return analysis


def analysis_digest(analysis: Analysis) -> str:
    """Hash an analysis by value. marshal's version 2 writes no references to objects seen
    before and does not mark interned strings, so equal analyses hash alike however their
    objects are shared (one made at once, or joined from cached parts)."""
    return hashlib.sha1(marshal.dumps(analysis, 2)).hexdigest()


def join_analyses(parts: Sequence[Analysis]) -> Analysis:
    """Join the analyses of consecutive runs of papers (a block's days) into the one
    :func:`analyze_block` makes of all of them at once, equal to the last byte.

    Papers are renumbered by the papers before them; a term's runs are joined field by field
    (only the joint's gap is encoded again, as :func:`join_segments` does); terms keep the
    order in which they first occur, and each its first paper and rank there.
    """
    runs: dict[str, Run] = {}
    sizes: list[list[int]] = [[] for _ in parts[0]["sizes"]] if parts else []
    papers: list[str] = []
    offset = 0
    for part in parts:
        for name, run in part["runs"].items():
            known = runs.get(name)
            runs[name] = _moved(run, offset) if known is None else _joined(known, run, offset)
        extend_sizes(sizes, part)
        papers += part["papers"]
        offset += part["docs"]
    analysis: Analysis = {"docs": offset, "sizes": sizes, "papers": papers, "runs": runs}
    analysis["digest"] = analysis_digest(analysis)
    return analysis


def extend_sizes(sizes: list[list[int]], analysis: Analysis) -> None:
    """Append an analysis's papers' field lengths (the next papers in order) to ``sizes``."""
    for mine, theirs in zip(sizes, analysis["sizes"], strict=True):
        mine += theirs


def _moved(run: Run, offset: int) -> Run:
    """A run of papers numbered ``offset`` further on."""
    if not offset:
        return run
    segments = [None if seg is None else _moved_segment(seg, offset) for seg in run[RUN_SEGMENTS:]]
    return (run[0] + offset, run[1], run[2], run[3] + offset, *segments)


def _moved_segment(seg: Segment, offset: int) -> Segment:
    """A segment's first posting is stored by its paper's number, the rest by gaps: only its
    ends move."""
    return (seg[0], seg[1] + offset, seg[2] + offset, seg[3], seg[4])


def _joined(known: Run, run: Run, offset: int) -> Run:
    """A term's run over earlier papers (``known``) and then ``run``'s, moved by ``offset``."""
    segments: list[Segment | None] = []
    for early, late in zip(known[RUN_SEGMENTS:], run[RUN_SEGMENTS:], strict=True):
        if late is None:
            segments.append(early)
        elif early is None:
            segments.append(_moved_segment(late, offset))
        else:
            gap = vlq(2 * (late[1] + offset - early[2] - 1) + late[3])
            segments.append(
                (early[0] + late[0], early[1], late[2] + offset, early[3], early[4] + gap + late[4])
            )
    return (known[0], known[1], known[2] + run[2], run[3] + offset, *segments)


def _sha16(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _field_terms(text: str, positional: bool) -> tuple[Counter[str], dict[str, list[int]]]:
    """Return a field's term frequencies (first-occurrence order) and, if kept, positions."""
    if not positional:
        return Counter(filter(None, map(term, SEPARATOR.split(text.lower())))), {}
    where: dict[str, list[int]] = {}
    for found, position in analyze(text):
        where.setdefault(found, []).append(position)
    return Counter({t: len(p) for t, p in where.items()}), where


def _add_posting(state: list[Any], f: int, doc: int, tf: int, positions: Sequence[int]) -> None:
    """Append one posting to a term's field state [count, first, last, flag, parts]."""
    small = VLQ_SMALL  # vlq() inlined: half a million postings per 5,000 papers
    tail = (small[tf - 2] if tf < SMALL else vlq(tf - 2)) if tf > 1 else ""
    if positions:
        tail += gap_vlqs(positions)
    entry = state[f]
    if entry is None:
        state[f] = [1, doc, doc, int(tf > 1), [tail]]
        return
    head = 2 * (doc - entry[2] - 1) + (tf > 1)
    entry[4].append((small[head] if head < SMALL else vlq(head)) + tail)
    entry[0] += 1
    entry[2] = doc


def gap_vlqs(numbers: Sequence[int]) -> str:
    """Return rising numbers as VLQ digits of their gaps (each minus one): small gaps, short text.

    Used for term positions here and for theme members in the manifest; search.js reads both."""
    previous = -1
    gaps = []
    for n in numbers:
        gaps.append(n - previous - 1)
        previous = n
    return vlqs(gaps)


def _run(first: tuple[int, int], state: list[Any]) -> Run:
    segments = [
        None if entry is None else (entry[0], entry[1], entry[2], entry[3], "".join(entry[4]))
        for entry in state
    ]
    volume = sum(entry[0] for entry in state if entry is not None)
    last = max(entry[2] for entry in state if entry is not None)
    return (first[0], first[1], volume, last, *segments)


def segment(postings: Sequence[Posting], positional: bool) -> Segment:
    """Encode postings (numbered within their block) as a Segment."""
    text = encode_postings(postings, positional)
    head = 2 * postings[0][0] + (postings[0][1] > 1)
    return (len(postings), postings[0][0], postings[-1][0], head & 1, text[len(vlq(head)) :])


def decode_segment(seg: Segment, positional: bool) -> list[Posting]:
    _, first, _, flag, rest = seg
    return decode_postings(vlq(2 * first + flag) + rest, positional)


def split_run(run: Run, local: int, positional: Sequence[bool]) -> tuple[Run, Run]:
    """Split a run into the postings of papers before ``local`` and from it on (decoding)."""
    early: list[Segment | None] = []
    late: list[Segment | None] = []
    for f, seg in enumerate(run[RUN_SEGMENTS:]):
        postings = decode_segment(seg, positional[f]) if seg is not None else []
        head = [p for p in postings if p[0] < local]
        rest = [p for p in postings if p[0] >= local]
        early.append(segment(head, positional[f]) if head else None)
        late.append(segment(rest, positional[f]) if rest else None)
    volume = sum(s[0] for s in early if s is not None)
    last = max(s[2] for s in early if s is not None)
    first = min(s[1] for s in late if s is not None)
    return (run[0], run[1], volume, last, *early), (first, run[1], run[2] - volume, run[3], *late)


def join_segments(segments: Iterable[tuple[int, Segment | None]]) -> str:
    """Join one field's segments from several blocks, each given with the number of its
    block's first paper, into one encoding: only each block's first gap is encoded again."""
    out: list[str] = []
    previous = -1
    for start, seg in segments:
        if seg is None:
            continue
        _, first, last, flag, rest = seg
        out.append(vlq(2 * (start + first - previous - 1) + flag))
        out.append(rest)
        previous = start + last
    return "".join(out)


EditRanges = list[tuple[str, list[bytes]]]
"""A block's edit log with each edit's changed terms as sorted UTF-16 keys (JavaScript's
order, the index's)."""


def edit_ranges(log: list[list[Any]]) -> EditRanges:
    """Return an analysis's edit log (``[digest, changed terms]`` each) with the terms as
    sorted UTF-16 keys, for :func:`digest_as_of`."""
    return [(edit[0], sorted(utf16_key(t) for t in edit[1])) for edit in log]


def digest_as_of(edits: EditRanges, digest: str, low: bytes, high: bytes | None) -> str:
    """Return the digest of the earliest analysis of a block since which none of its edits
    changed a term from ``low`` up to (not including) ``high`` (None: no end)."""
    for before, changed in reversed(edits):
        at = bisect_left(changed, low)
        if at < len(changed) and (high is None or changed[at] < high):
            break
        digest = before
    return digest
