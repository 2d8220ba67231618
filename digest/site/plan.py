"""The site plan: every file a build writes, with its key and how to make its view model.

Planning is cheap and complete: a rebuild walks the whole plan, keeps each page whose key
(:mod:`digest.site.keys`) is unchanged, and builds view models only for the rest.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import partial

from digest import urls
from digest.model import OTHER
from digest.pages.library import Library, Record
from digest.site.keys import Keys
from digest.site.records import Page
from digest.site.replan import Reuse
from digest.site.views import Views

SITEMAP_URLS = 50_000
"""The most URLs one sitemap file may list (sitemaps.org)."""


@dataclass(frozen=True)
class PageSpec:
    """A page to write: where, a key of its data (None: always render), and its view model."""

    path: str
    key: str | None
    make: Callable[[], Page]


def plan(views: Views, keys: Keys, reuse: Reuse | None = None) -> Iterator[PageSpec]:
    """Yield every page of the site as a spec, in a fixed order.

    With ``reuse``, a page whose inputs did not move since the last build is not planned but
    listed in ``reuse.kept`` (see :mod:`digest.site.replan`).
    """
    library = views.library
    related = views.related
    yield from notes_plan(views, keys, reuse=reuse)
    for slug in [*views.slugs, OTHER]:
        yield from theme_plan(views, keys, slug, reuse)
    records = library.records
    ids = sorted(records) if reuse is None else sorted(reuse.paper_pages(related))
    for paper_id in ids:
        record, near = records[paper_id], related[paper_id]
        key = keys.paper_page(record, near)
        yield PageSpec(urls.paper_path(paper_id), key, partial(views.paper_page, record))
    yield from redirect_plan(views, keys)
    for archive in views.archive_pages():
        yield PageSpec(archive.path, None, partial(_same, archive))
    for feed in (None, *views.slugs):
        path = urls.FEED if feed is None else urls.theme_feed_path(feed)
        yield PageSpec(path, None, partial(views.feed, feed))
    for plain in views.plain_pages():
        yield PageSpec(plain.path, None, partial(_same, plain))
    if views.config.base_url:  # the sitemap protocol allows absolute URLs only
        yield from sitemap_plan(views, keys)


def notes_plan(
    views: Views,
    keys: Keys,
    changed: Collection[dt.date] | None = None,
    reuse: Reuse | None = None,
) -> Iterator[PageSpec]:
    """Plan the pages that show notes and introductions: the home page (its cards are the
    latest day's, notes included, which a project's template may show), then the day pages,
    oldest first. When only notes changed, a build plans these alone, and only for the
    ``changed`` days (the home page if the latest day is one of them)."""
    days = views.library.days
    home, chosen = _notes_pages(views.library, changed)
    if home:
        yield PageSpec(urls.HOME, None, views.home)
    for i in chosen:
        day = days[i]
        before = days[i - 1] if i else None
        after = days[i + 1] if i + 1 < len(days) else None
        path, around = urls.day_path(day.date), (before, day, after)
        if reuse and reuse.day_page(path, day, around):
            continue
        yield PageSpec(path, keys.day_page(day, around), partial(views.day, day, before, after))


def notes_paths(library: Library, changed: Collection[dt.date] | None = None) -> set[str]:
    """Return the paths :func:`notes_plan` plans, without working out their keys."""
    home, chosen = _notes_pages(library, changed)
    return {*([urls.HOME] if home else []), *(urls.day_path(library.days[i].date) for i in chosen)}


def _notes_pages(library: Library, changed: Collection[dt.date] | None) -> tuple[bool, list[int]]:
    """Whether the home page is planned, and which days (by index): all, or the changed."""
    days = library.days
    chosen = [i for i, day in enumerate(days) if changed is None or day.date in changed]
    return changed is None or (bool(days) and days[-1].date in changed), chosen


def redirect_plan(views: Views, keys: Keys) -> Iterator[PageSpec]:
    """Plan a redirect at each permalink a paper had before its id changed (hash to arXiv id).

    A previous id that is a paper of its own again (a hand edit) keeps that paper's page.
    """
    records = views.library.records
    moved = {
        previous: record
        for record in records.values()
        for previous in record.previous_ids
        if previous not in records
    }
    for previous in sorted(moved):
        record = moved[previous]
        key = keys.redirect_page(previous, record)
        make = partial(views.redirect, previous, record)
        yield PageSpec(urls.paper_path(previous), key, make)


def theme_plan(
    views: Views, keys: Keys, slug: str, reuse: Reuse | None = None
) -> Iterator[PageSpec]:
    """Plan a theme's main page, then its archive pages (oldest first)."""
    newest_first = views.library.papers_in(slug)
    oldest_first = newest_first[::-1]
    ids = [r.id for r in oldest_first] if reuse else []
    size = views.config.page_size
    count = math.ceil(len(oldest_first) / size)
    main = partial(views.theme_page, slug, newest_first[:size], 0, count, len(newest_first))
    yield PageSpec(urls.theme_path(slug), None, main)
    for number in range(1, count + 1):
        path = urls.theme_path(slug, number)
        if reuse and reuse.theme_archive_page(path, slug, number, size, ids):
            continue
        chunk = oldest_first[(number - 1) * size : number * size][::-1]
        key = keys.theme_archive_page(number, number == count, chunk)
        make = partial(views.theme_page, slug, chunk, number, count, len(chunk))
        yield PageSpec(path, key, make)


def sitemap_plan(views: Views, keys: Keys) -> Iterator[PageSpec]:
    """Plan a sitemap index, a sitemap of pages and one per month of the papers.

    Papers are grouped by the month they were first seen, so a new day rewrites the current
    month's file only; a file lists at most SITEMAP_URLS (the protocol's limit), a busy month
    goes on in ``-2``, ``-3``...
    """
    months: dict[str, list[Record]] = {}
    for record in views.library.records.values():
        months.setdefault(f"{record.first_seen:%Y-%m}", []).append(record)
    files: list[tuple[str, list[Record]]] = []
    for month in sorted(months):
        records = sorted(months[month], key=lambda r: r.id)
        for part, start in enumerate(range(0, len(records), SITEMAP_URLS), start=1):
            files.append(
                (urls.papers_sitemap_path(month, part), records[start : start + SITEMAP_URLS])
            )
    listed = [(urls.PAGES_SITEMAP, None), *[(path, None) for path, _ in files]]
    yield PageSpec(urls.SITEMAP, None, partial(views.sitemap, urls.SITEMAP, listed, True))
    yield PageSpec(urls.PAGES_SITEMAP, None, views.pages_sitemap)
    for path, records in files:
        key = keys.papers_sitemap(path, records)
        yield PageSpec(path, key, partial(views.papers_sitemap, path, records))


def _same(page: Page) -> Page:
    return page
