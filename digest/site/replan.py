"""Planning by difference: a rebuild works out keys only for the pages whose data may have moved.

Keying every page of a 50,000-paper site (57,000 keys, each a hash of six record tokens) took
0.5-0.7 s of a new day's 2 s build, to find that ~200 pages changed. Every keyed page is made
of record tokens and its place (see :mod:`digest.site.keys`), and a record's token moves only
when a digest page it is on, or was on, moves its records token. So each build leaves a
:class:`PlanMemo` of what its plan was made of: each day's records token and papers, each
paper's related papers, each theme's papers in order. The next build with the same salt, into
the same folder, asks :class:`Reuse` first: a page none of whose inputs moved is kept as the
last build wrote it (its key is the one the full plan would compute again), with no key
worked out and no spec made; every other page is planned and keyed as before.
``tests/test_replan.py`` checks both plans agree after every kind of edit, and the test suite
checks it in every rebuild it makes (``DIGEST_CHECK_PLAN``).
"""

from __future__ import annotations

import logging
import marshal
import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from digest import urls
from digest.fsutil import folder_key, write_atomic
from digest.pages.library import Library, LoadedDay
from digest.site.keys import day_token, records_token

log = logging.getLogger(__name__)

MEMO_FORMAT = 1
CHECK_PLAN = "DIGEST_CHECK_PLAN"
"""Set (to anything) in the environment: every plan by difference is checked against the
full plan, and a build fails if they differ. The test suite sets it."""


@dataclass(frozen=True)
class PlanMemo:
    """What one build's plan was made of (plain data: marshal loads it in milliseconds)."""

    salt: str
    state: str
    """The build's records state (:meth:`Keys.records_state`): the manifest has it too, so a
    memo is only used against the site it was made with."""
    dates: tuple[str, ...]
    """Every day, oldest first (ISO dates)."""
    records: tuple[str, ...]
    """Each day's records token."""
    papers: tuple[tuple[str, ...], ...]
    """The papers each day's page lists."""
    related: dict[str, tuple[str, ...]]
    themes: dict[str, tuple[str, ...]]
    """Each theme's papers (OTHER's too), oldest first: what its archive pages are cut from."""

    @classmethod
    def of(
        cls,
        library: Library,
        salt: str,
        state: str,
        related: Mapping[str, tuple[str, ...]],
        slugs: Sequence[str],
    ) -> PlanMemo:
        days = library.days
        return cls(
            salt,
            state,
            tuple(d.date.isoformat() for d in days),
            tuple(records_token(d) for d in days),
            tuple(tuple(p.paper.id for p in d.placed) for d in days),
            dict(related),
            {s: tuple(r.id for r in reversed(library.papers_in(s))) for s in slugs},
        )

    def save(self, path: Path) -> None:
        """Leave the memo for the next build (before this one commits: if it fails, the
        manifest keeps the last build's state, which this memo's does not match). A memo
        is only a speed-up: one that cannot be written is warned of, not a failed build."""
        data = (MEMO_FORMAT, self.salt, self.state, self.dates, self.records, self.papers)
        try:
            write_atomic(path, marshal.dumps((*data, self.related, self.themes)), durable=False)
        except OSError as exc:
            log.warning("could not write the cache %s: %s", path.parent, exc)

    @classmethod
    def load(cls, path: Path | None) -> PlanMemo | None:
        """Return the memo at ``path``, or None (plan it all) if there is none or it is not
        one this version writes: unreadable, cut short, another format."""
        if path is None:
            return None
        try:
            data = marshal.loads(path.read_bytes())
            if not isinstance(data, tuple) or len(data) != 8 or data[0] != MEMO_FORMAT:
                return None
            memo = cls(*data[1:])
        except (OSError, ValueError, EOFError, TypeError):
            return None
        return memo if memo.well_formed() else None

    def well_formed(self) -> bool:
        """Tell whether the memo's parts have the shapes and lengths this module reads."""
        plain = (self.salt, self.state, self.dates, self.records, self.papers)
        shapes = [str, str, tuple, tuple, tuple]
        return (
            all(isinstance(part, shape) for part, shape in zip(plain, shapes, strict=True))
            and isinstance(self.related, dict)
            and isinstance(self.themes, dict)
            and len(self.dates) == len(self.records) == len(self.papers)
        )


class Reuse:
    """Tells which pages keep the last build's file and key: those whose inputs did not move.

    A page's inputs are the record tokens of the papers it shows (and, for a day page, its
    whole page and its neighbours' records tokens); a record token is the record's id and
    the records tokens of its days. So a page is unchanged when none of its papers is on a
    changed day (now or in the last build: a paper taken off a page moves too) and the page
    shows the same papers in the same place. An unchanged page still on disk is only
    listed (:attr:`kept`): no key is worked out, no spec made, and the writer keeps all of
    them at once.
    """

    def __init__(
        self,
        memo: PlanMemo,
        library: Library,
        old_keys: Mapping[str, str],
        old_days: Mapping[str, str],
        present: AbstractSet[str],
    ):
        self.memo = memo
        self.old_keys = old_keys
        self.old_days = old_days
        self.present = present
        self.kept: list[str] = []
        old = dict(zip(memo.dates, memo.records, strict=True))
        new = {d.date.isoformat(): records_token(d) for d in library.days}
        self.changed = {d for d in old.keys() | new.keys() if old.get(d) != new.get(d)}
        affected: set[str] = set()
        for date, papers in zip(memo.dates, memo.papers, strict=True):
            if date in self.changed:
                affected.update(papers)
        for day in library.days:
            if day.date.isoformat() in self.changed:
                affected.update(p.paper.id for p in day.placed)
        self.affected = affected
        dates = memo.dates
        self.neighbours = {
            d: (dates[i - 1] if i else None, dates[i + 1] if i + 1 < len(dates) else None)
            for i, d in enumerate(dates)
        }

    @classmethod
    def since(
        cls,
        memo: PlanMemo | None,
        salt: str,
        state: str,
        library: Library,
        old_keys: Mapping[str, str],
        old_days: Mapping[str, str],
        present: AbstractSet[str],
    ) -> Reuse | None:
        """Return what the last build's plan lets this one reuse, or None (plan it all) if it
        left no memo, had another salt (templates, settings, themes: every key moves), or
        did not write the site whose keys and records ``state`` are given."""
        if memo is None or memo.salt != salt or memo.state != state or not state:
            return None
        return cls(memo, library, old_keys, old_days, present)

    def keep(self, path: str) -> bool:
        """List an unchanged page as kept if the last build keyed it and it is still there."""
        if path in self.old_keys and path in self.present:
            self.kept.append(path)
            return True
        return False

    def day_page(self, path: str, day: LoadedDay, around: Sequence[LoadedDay | None]) -> bool:
        """Keep a day page if its whole page, its neighbours and their records tokens, and
        its papers' record tokens are the last build's."""
        date = day.date.isoformat()
        near = tuple(d.date.isoformat() if d else None for d in (around[0], around[2]))
        if (
            date in self.changed
            or self.old_days.get(date) != day_token(day)
            or self.neighbours.get(date) != near
            or any(d in self.changed for d in near if d)
            or not self.affected.isdisjoint(p.paper.id for p in day.placed)
        ):
            return False
        return self.keep(path)

    def paper_pages(self, related: Mapping[str, tuple[str, ...]]) -> set[str]:
        """Return the papers (of ``related``'s, every paper) whose pages are to be planned;
        keep the others: those whose record token, related papers and their record tokens
        are the last build's. In set operations: 50,000 papers, most of them kept."""
        affected = self.affected
        moved = {paper_id for paper_id, _ in related.items() - self.memo.related.items()}
        near = {paper_id for paper_id, ids in related.items() if not affected.isdisjoint(ids)}
        planned = (affected | moved | near) & related.keys()
        paths = {urls.paper_path(paper_id): paper_id for paper_id in related.keys() - planned}
        kept = paths.keys() & self.old_keys.keys() & self.present
        self.kept += kept
        planned.update(paper_id for path, paper_id in paths.items() if path not in kept)
        return planned

    def theme_archive_page(
        self, path: str, slug: str, number: int, size: int, ids: Sequence[str]
    ) -> bool:
        """Keep an archive page if its number, whether it is the last, and its papers' record
        tokens are the last build's (``ids``: the theme's papers oldest first, the page's
        are a slice of them)."""
        old = self.memo.themes.get(slug)
        if old is None:
            return False
        start, end = (number - 1) * size, number * size
        old_last = number == math.ceil(len(old) / size)
        new_last = number == math.ceil(len(ids) / size)
        chunk = ids[start:end]
        if old_last != new_last or tuple(chunk) != old[start:end]:
            return False
        return self.affected.isdisjoint(chunk) and self.keep(path)


def memo_path(cache_dir: Path, out: Path) -> Path:
    """Where the plan memo of builds into ``out`` lives: one per output folder."""
    return cache_dir / "plans" / f"{folder_key(out)}.marshal"
