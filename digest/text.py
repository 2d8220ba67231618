"""Small text helpers shared by the site, the search index and the email."""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*\s+(?=[\"“‘'(\[$\\]?[A-Z0-9])")
ABBREVIATIONS = ("e.g", "i.e", "et al", "etc", "vs", "cf", "fig", "eq", "resp", "approx")
"""Words whose full stop ends no sentence."""
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 forbids in a document (escaped or not): a feed holding one is not XML."""


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary to at most ``limit`` characters, marking the cut with "…".

    Trailing punctuation before the cut goes too ("word, …" reads as a mistake); a text with
    no space in reach is cut inside its first word.
    """
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:.") + "…"


def one_line(text: str) -> str:
    """Fold every run of whitespace and control characters to one space."""
    return CONTROL.sub(" ", text).strip()


def xml_safe(text: str) -> str:
    """Drop the characters XML forbids, so a control character in a title cannot break a feed."""
    return NOT_XML.sub("", text)


def plural(count: int, word: str) -> str:
    """Return "1 file", "2 files": a count with its noun in the right number."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def sentence_starts(text: str) -> tuple[int, ...]:
    """Return where each sentence of an abstract starts ("e.g." and the like end none)."""
    starts = [0]
    for end in SENTENCE_END.finditer(text):
        before = text[max(0, end.start() - 6) : end.start()].lower()
        if not before.endswith(ABBREVIATIONS):
            starts.append(end.end())
    return tuple(starts)


def first_sentence(text: str, limit: int) -> str:
    """Return an abstract's first sentence, cut at a word to ``limit`` characters.

    What a card shows as its one line when the source gave no summary: the first sentence
    usually says what the paper is about.
    """
    head = " ".join(text[: limit * 2].split())  # folding the whole abstract costs the most
    if not head.isprintable():
        head = one_line(text[: limit * 2])
    text = head if len(head) > limit or len(text) <= limit * 2 else one_line(text)
    end = len(text)
    for found in SENTENCE_END.finditer(text, 0, limit + 2):  # nothing past the cut matters
        if not text[max(0, found.start() - 6) : found.start()].lower().endswith(ABBREVIATIONS):
            end = found.end()
            break
    return shorten(text[:end].strip(), limit)
