"""Match papers against theme rules the way a careful reader would, and say why in one line.

Where a hit stands decides how much it counts (:class:`~digest.model.Places`): in the title; in a
sentence that states the contribution ("we propose", "our method"); in the abstract's first or
last sentence; anywhere else; or after a negation or contrast in the same clause ("unlike
decoupled ...", "without quantization"). A rule counts once per field, at its best place, so a
word repeated adds nothing while distinct rules add up; a paper's score is the sum of its named
hits, and it is in the theme when the score reaches the theme's threshold and no ``exclude`` rule
matched. Everything here is a pure function of the themes and the paper's text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from digest.ingest.patterns import Found, SafePattern, compile_pattern
from digest.model import PLACES, Cues, Match, Rule, Theme
from digest.text import sentence_starts

FIELDS = ("title", "abstract")
HIT_CHARS = 80
"""The longest a hit is shown (place, quoted words, rule, points), when its label allows."""
LABEL_CHARS = 18
GLUED = 12
"""Longest text stuck to a match (no space between) that is quoted with it."""
LOOKBACK = 60
"""How far before a hit (in characters, within its clause) a negation or contrast cue counts."""
OCCURRENCES = 64
"""Occurrences of one rule looked at per field: enough for any abstract, bounded for any input."""
WHY_HITS = 4
"""Hits named on a paper's why line; the rest are summed up in one last item."""
NAMES = 8
"""Names of what a paper introduces that mark claim sentences (see :func:`method_names`)."""
CLAUSE_BREAK = re.compile(r"[,;:]|(?<!\w)(?:but|whereas|while)(?!\w)")
"""Where a clause ends, for contrast cues (a parenthesis does not: "prior work (VQ) ...")."""
NON_WORD = re.compile(r"\W")
WORD = re.compile(r"\S+")


def phrase_pattern(phrase: str) -> str:
    """Turn a phrase into a regex: words separated by any space or hyphen, ``*`` = word ending."""
    parts = []
    for word in phrase.split():
        stem = re.escape(word.rstrip("*"))
        parts.append(stem + (r"\w*" if word.endswith("*") else ""))
    return r"[\s\-]+".join(parts)


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> tuple[SafePattern, SafePattern]:
    """Compile a rule for lowercased text: a fast bare search and the exact word-bounded form.

    Case-insensitive matching and a leading look-behind both stop Python's regex engine from
    scanning for a literal prefix, which made matching 50x slower; so texts are lowercased once
    and the bare pattern finds candidates that the bounded pattern then confirms. The themes
    loader checked both forms (:func:`check_forms`) when it read the rule, so they are not
    checked again here: ``re`` and its parser took 0.05 s of each ingest doing that.
    """
    bare, bounded = _forms(pattern)
    return SafePattern(bare), SafePattern(bounded)


def check_forms(pattern: str) -> None:
    """Raise ``re.error`` unless both forms a rule is matched in compile and cannot match the
    empty string (see :func:`digest.ingest.patterns.compile_pattern`)."""
    for form in _forms(pattern):
        compile_pattern(form)


def _forms(pattern: str) -> tuple[str, str]:
    lowered = _lower_literals(pattern)
    return lowered, rf"(?<!\w)(?:{lowered})(?!\w)"


GROUP_NAME = re.compile(r"\(\?(?:P[<=][^>)]*[>)]|\([^)]*\))")
"""A named group's head or a reference to one (``(?P<Name>``, ``(?P=Name)``, a condition
``(?(Name)``): letters that are syntax, not text."""


def _lower_literals(pattern: str) -> str:
    """Lowercase a regex's letters except escape sequences (``\\S`` must stay ``\\S``) and
    group names (``(?P<Name>`` lowered, ``(?p<name>``, is no pattern at all)."""
    out = []
    escaped = False
    position = 0
    while position < len(pattern):
        head = None if escaped else GROUP_NAME.match(pattern, position)
        if head is not None:
            out.append(head.group())
            position = head.end()
            continue
        char = pattern[position]
        out.append(char if escaped else char.lower())
        escaped = not escaped and char == "\\"
        position += 1
    return "".join(out)


def find_all(pattern: str, lowered: str) -> Iterator[Found]:
    """Yield the word-bounded, non-overlapping matches of ``pattern`` in lowercased text.

    A candidate inside a word cannot start a bounded match, so the search skips to the word's
    end: a hostile run of one long word costs one pass, not one pass per letter.
    """
    bare, bounded = compiled(pattern)
    position = 0
    while (candidate := bare.search(lowered, position)) is not None:
        start = candidate.start()
        confirmed = bounded.match(lowered, start)
        if confirmed and confirmed.end() > start:
            yield confirmed
            position = confirmed.end()
        elif start and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):
            word_end = NON_WORD.search(lowered, start)
            position = word_end.start() if word_end else len(lowered)
        else:
            position = start + 1


@lru_cache(maxsize=64)
def _any_of(rules: tuple[Rule, ...]) -> SafePattern | None:
    """Compile cue rules into one word-bounded alternation (None when there are none)."""
    if not rules:
        return None
    either = "|".join(f"(?:{_lower_literals(rule.pattern)})" for rule in rules)
    return SafePattern(rf"(?<!\w)(?:{either})(?!\w)")  # each cue was checked as a rule


TITLE_NAME = re.compile(r"\s*([^:]{2,40}?)\s*:")
COINED = re.compile(r"\w[A-Z]")
NAME_AFTER_CUE = re.compile(
    r"(?:\s+(?:propose|introduce|present|develop|design|call|name|dub|term)[a-z]*)?"
    r"\s+([A-Z][\w+\-]*[\w+])"
)
NAME_IN_PARENS = re.compile(r"[A-Z][\w\-]*\s+\(([A-Z][\w+\-]*[A-Z][\w+\-]*)\)")


def method_names(title: str, abstract: str, claims: Sequence[Found]) -> list[str]:
    """Return the names a paper gives what it introduces, lowercased, to find its claim sentences.

    A coined name before the title's colon ("UMIFormer: ..."), a capitalised name right after a
    claim cue ("we propose DualToken"), or a coined acronym after a capitalised phrase in a
    claim sentence ("Joint Distribution Matching (JDM)"): a sentence that names it says what
    the paper does ("JDM decouples fidelity learning from condition learning"). At most
    :data:`NAMES`, first found first, so hostile text cannot make the search quadratic.
    """
    names: dict[str, None] = {}
    head = TITLE_NAME.match(title)
    if head and len(head[1].split()) <= 3 and COINED.search(head[1]):
        names[head[1].lower()] = None
    for cue in claims:
        after = NAME_AFTER_CUE.match(abstract, cue.end())
        if after and len(after[1]) > 1:
            names[after[1].lower()] = None
        stop = abstract.find(".", cue.end(), cue.end() + 300)
        stop = stop if stop > 0 else min(len(abstract), cue.end() + 300)
        for named in NAME_IN_PARENS.finditer(abstract, cue.start(), stop):
            names[named[1].lower()] = None
        if len(names) >= NAMES:
            break
    return list(names)[:NAMES]


@dataclass(frozen=True)
class Reading:
    """A paper read once for a set of cues: its text, sentences and which state a contribution."""

    title: str
    abstract: str
    lowered: dict[str, str]
    starts: tuple[int, ...]
    claims: frozenset[int]
    contrast: SafePattern | None

    @classmethod
    def of(cls, title: str, abstract: str, cues: Cues) -> Reading:
        lowered = {"title": title.lower(), "abstract": abstract.lower()}
        starts = sentence_starts(abstract)
        claim = _any_of(cues.claim)
        found = list(claim.finditer(lowered["abstract"])) if claim else []
        claims = {bisect_right(starts, cue.start()) - 1 for cue in found}
        if len(abstract) == len(lowered["abstract"]):  # offsets agree
            for name in method_names(title, abstract, found):
                for use in find_all(re.escape(name), lowered["abstract"]):
                    claims.add(bisect_right(starts, use.start()) - 1)
        return cls(title, abstract, lowered, starts, frozenset(claims), _any_of(cues.contrast))

    def place(self, field: str, start: int) -> str:
        """Return where a hit starting at ``start`` stands (one of :data:`~digest.model.PLACES`)."""
        if field == "title":
            return "title"
        sentence = bisect_right(self.starts, start) - 1
        if self._contrasted(start, self.starts[sentence]):
            return "contrast"
        if sentence in self.claims:
            return "claim"
        if len(self.starts) == 1:  # a lone sentence opens and closes nothing
            return "body"
        if sentence == 0:
            return "first"
        return "last" if sentence == len(self.starts) - 1 else "body"

    def _contrasted(self, start: int, sentence_start: int) -> bool:
        """Tell whether a negation or contrast cue stands before ``start`` in its clause."""
        if self.contrast is None:
            return False
        text = self.lowered["abstract"]
        window = max(sentence_start, start - LOOKBACK)
        for brk in CLAUSE_BREAK.finditer(text, window, start):
            window = brk.end()
        return self.contrast.search(text, window, start) is not None

    def quote(self, field: str, found: Found, budget: int) -> str:
        """Return the matched words with a few words either side, at most ``budget`` characters."""
        text = self.title if field == "title" else self.abstract
        lowered = self.lowered[field]
        source = text if len(text) == len(lowered) else lowered
        return quote(source, found.start(), found.end(), budget)


def quote(text: str, start: int, end: int, budget: int) -> str:
    """Quote ``text[start:end]`` with whole words of context, never more than ``budget`` chars.

    Words are added alternately before and after the match while they fit; "…" marks text left
    out on either side, and a match longer than two thirds of the budget is itself cut.
    """
    limit = budget * 2 // 3
    quoted = " ".join(text[start:end].split())
    if len(quoted) > limit:  # a long match (a pattern spanning words): its start says enough
        cut = quoted[: limit - 1]
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
        return ("…" if start > 0 else "") + cut.rstrip() + "…"
    left, right = max(0, start - budget), min(len(text), end + budget)
    before = list(WORD.finditer(text, left, start))
    after = list(WORD.finditer(text, end, right))
    if before and before[0].start() == left and left and not text[left - 1].isspace():
        before.pop(0)  # a word cut by the window
    if after and after[-1].end() == right and right < len(text) and not text[right].isspace():
        after.pop()
    first, last = start, end
    if before and before[-1].end() == start:  # stuck to the match: "(decoupled"
        glued = before.pop()
        if len(glued.group()) > GLUED:
            before = []  # quoting past it would misquote; "…" says something is left out
        else:
            quoted, first = glued.group() + quoted, glued.start()
    if after and after[0].start() == end:
        glued = after.pop(0)
        if len(glued.group()) > GLUED:
            after = []
        else:
            quoted, last = quoted + glued.group(), glued.end()
    if len(quoted) + 2 > budget:
        first, last, before, after = start, end, [], []
        quoted = " ".join(text[start:end].split())[: budget - 2]
    grew = True
    while grew:
        grew = False
        if before and len(quoted) + len(before[-1].group()) + 3 <= budget:
            word = before.pop()
            quoted, first, grew = f"{word.group()} {quoted}", word.start(), True
        if after and len(quoted) + len(after[0].group()) + 3 <= budget:
            word = after.pop(0)
            quoted, last, grew = f"{quoted} {word.group()}", word.end(), True
    return ("…" if first > 0 else "") + quoted + ("…" if last < len(text) else "")


@dataclass(frozen=True)
class Hit:
    """One rule's best hit in one field: where it stands, the words, and what it adds."""

    place: str
    words: str
    label: str
    points: float
    weight: float = 1.0
    """The rule's own weight (``points`` is it times the place's weight)."""

    def __str__(self) -> str:
        return f"{self.place} “{self.words}” ({self.label} {self.points:+g})"


@dataclass(frozen=True)
class Scored:
    """A paper's score in one theme, in or out, with every named hit (strongest first)."""

    theme: str
    score: float
    threshold: float
    hits: tuple[Hit, ...]
    vetoed_by: Hit | None = None

    @property
    def matched(self) -> bool:
        """In the theme: enough points from at least one hit, and no exclusion."""
        return self.vetoed_by is None and bool(self.hits) and self.score >= self.threshold

    def match(self) -> Match | None:
        """Return the why of a paper in the theme (at most a few hits named), or None."""
        if not self.matched:
            return None
        named = [str(hit) for hit in self.hits[:WHY_HITS]]
        rest = self.hits[WHY_HITS:]
        if rest:
            points = round(sum(hit.points for hit in rest), 2)
            named.append(f"{len(rest)} more ({points:+g})")
        return Match(self.theme, self.score, tuple(named))


def score_theme(theme: Theme, reading: Reading) -> Scored:
    """Score one theme: each rule's best hit per field, summed; any exclusion vetoes."""
    weights = {place: theme.places.weight(place) for place in PLACES}
    top = max(weight for place, weight in weights.items() if place != "title")
    hits = []
    for order, rule in enumerate(theme.rules):
        for field in rule.fields:
            hit = _best_hit(rule, field, reading, weights, top)
            if hit is not None:
                hits.append((-abs(hit.points), order, hit))
    hits.sort(key=lambda item: item[:2])
    veto = next(
        (
            hit
            for rule in theme.exclude
            for field in rule.fields
            if (hit := _first_hit(rule, field, reading)) is not None
        ),
        None,
    )
    found = tuple(hit for *_, hit in hits)
    score = round(sum(hit.points for hit in found), 2)
    return Scored(theme.slug, score, theme.threshold, found, veto)


def _best_hit(
    rule: Rule, field: str, reading: Reading, weights: dict[str, float], top: float
) -> Hit | None:
    """Return the rule's hit in ``field`` at its best place (the first of equals).

    Best means most points for a rule of positive weight, most negative for a penalty; no
    later occurrence can beat one at a place of weight ``top``, so the search stops there.
    """
    sign = -1.0 if rule.weight < 0 else 1.0
    best: tuple[float, str, Found] | None = None
    for count, found in enumerate(find_all(rule.pattern, reading.lowered[field])):
        place = reading.place(field, found.start())
        points = rule.weight * weights[place]
        if best is None or points * sign > best[0] * sign:
            best = (points, place, found)
        if field == "title" or weights[place] >= top or count >= OCCURRENCES:
            break
    return None if best is None else _hit(rule, field, reading, *best)


def _first_hit(rule: Rule, field: str, reading: Reading) -> Hit | None:
    found = next(find_all(rule.pattern, reading.lowered[field]), None)
    if found is None:
        return None
    return _hit(rule, field, reading, 0.0, reading.place(field, found.start()), found)


def _hit(rule: Rule, field: str, reading: Reading, points: float, place: str, found: Found) -> Hit:
    points = round(points, 2)
    label = rule.label if len(rule.label) <= LABEL_CHARS else rule.label[: LABEL_CHARS - 1] + "…"
    budget = max(24, HIT_CHARS - len(place) - len(label) - len(f"{points:+g}") - 7)
    return Hit(place, reading.quote(field, found, budget), label, points, rule.weight)


def score_themes(themes: Sequence[Theme], title: str, abstract: str) -> tuple[Scored, ...]:
    """Score a paper in every theme, in or out, in configuration order (for "why not" too)."""
    readings: dict[int, Reading] = {}
    scored = []
    for theme in themes:
        key = id(theme.cues)
        if key not in readings:
            readings[key] = Reading.of(title, abstract, theme.cues)
        scored.append(score_theme(theme, readings[key]))
    return tuple(scored)


def classify(themes: Sequence[Theme], title: str, abstract: str) -> tuple[Match, ...]:
    """Return the matching themes, strongest first (ties in configuration order)."""
    scored = score_themes(themes, title, abstract)
    matches = [m for s in scored if (m := s.match())]
    order = {theme.slug: i for i, theme in enumerate(themes)}
    return tuple(sorted(matches, key=lambda m: (-m.score, order[m.theme])))


def match_theme(theme: Theme, title: str, abstract: str) -> Match | None:
    """Return why a paper is in ``theme``, or None if it is not."""
    return score_themes((theme,), title, abstract)[0].match()


def describe(scored: Scored) -> list[str]:
    """Return a theme's verdict on a paper as lines: in or out, score vs threshold, each hit."""
    verdict = "in" if scored.matched else "out"
    sign = ">=" if scored.score >= scored.threshold else "<"
    head = f"{scored.theme:<20} {verdict:<3} {scored.score:g} {sign} {scored.threshold:g}"
    if scored.vetoed_by is not None:
        head += f"  vetoed by exclude {scored.vetoed_by.label!r}"
    lines = [head + ("" if scored.hits else "  (no hits)")]
    lines += [f"    {hit}" for hit in scored.hits]
    if scored.vetoed_by is not None:
        veto = scored.vetoed_by
        lines.append(f"    exclude: {veto.place} “{veto.words}” ({veto.label})")
    return lines
