"""Compile theme rule patterns so that matching them always ends, and soon.

Rules are regular expressions from the user's themes file, matched against text from the web.
Two kinds of pattern used to hang every command that classifies (``parse``, ``ingest``,
``build``, the preview server's rebuilds): one that can match the empty string (``a*``,
``(?:int)?``) made the matcher's scan stand still, and one that backtracks exponentially
(``(a+)+$``: 25 s on 29 letters, twice that per letter more) ran for ever. So the first kind is
refused when the rules are read, and every match runs in the ``regex`` module (the same
syntax as ``re``) with a time limit; a pattern that hits it is an error naming the pattern.
This is the one place rules are compiled: the rules loader and the matcher both use it.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # the stdlib's own parser

import regex

from digest.errors import DigestError

Found = regex.Match[str]
"""A hit: ``start()``, ``end()`` and ``group()`` as with ``re``."""
MATCH_SECONDS = 1.0
"""Longest one search of one rule in one text may take; real rules take microseconds."""


class SafePattern:
    """A compiled rule whose ``search`` and ``match`` give up after MATCH_SECONDS.

    The ``regex`` form is compiled on first use: a build that classifies nothing (the rules
    and the pages unchanged) loads every theme and compiled them all, 0.1 s of each build.
    """

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str):
        self.pattern = pattern
        self._compiled: regex.Pattern[str] | None = None

    @property
    def compiled(self) -> regex.Pattern[str]:
        if self._compiled is None:
            try:
                self._compiled = regex.compile(self.pattern, regex.VERSION0)
            except regex.error as exc:  # ``re`` took it (see compile_pattern); rare
                raise DigestError(f"the theme pattern {self.pattern!r}: {exc}") from None
        return self._compiled

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Found | None:
        try:
            end = len(text) if endpos is None else endpos
            return self.compiled.search(text, pos, end, timeout=MATCH_SECONDS)
        except TimeoutError:
            raise _too_slow(self.pattern, text) from None

    def match(self, text: str, pos: int = 0) -> Found | None:
        try:
            return self.compiled.match(text, pos, timeout=MATCH_SECONDS)
        except TimeoutError:
            raise _too_slow(self.pattern, text) from None

    def finditer(self, text: str) -> list[Found]:
        """Return every match, all found within the same time limit."""
        try:
            return list(self.compiled.finditer(text, timeout=MATCH_SECONDS))
        except TimeoutError:
            raise _too_slow(self.pattern, text) from None


def compile_pattern(pattern: str) -> SafePattern:
    """Compile a rule's regular expression; raise ``re.error`` for one that can match nothing.

    ``re`` checks the syntax (the themes file documents Python's), its parser says whether
    the pattern can match the empty string: such a rule would "hit" between any two letters.
    """
    re.compile(pattern)
    if sre_parse.parse(pattern).getwidth()[0] == 0:
        raise re.error(
            "it can match the empty string (everything in it is optional, or only a "
            "look-around or anchor); make part of it required"
        )
    return SafePattern(pattern)


def _too_slow(pattern: str, text: str) -> DigestError:
    return DigestError(
        f"the theme pattern {pattern!r} took over {MATCH_SECONDS:g} s on one text "
        f"({text[:40]!r}...): it backtracks too much; simplify it in the themes file "
        "(nested repeats like (a+)+ are the usual cause)"
    )
