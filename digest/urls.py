"""The site's URL scheme: where every page and asset lands, and how links to it are made.

This is the only module that knows a site path (``days/2024-04-24.html``). View models carry
these paths; templates turn them into links with ``url()`` (relative to the page being
rendered, so a site opened from ``file://`` or served under a sub-path works) or ``abs_url()``
(joined to ``base_url`` by :func:`absolute`). Fragments follow one rule too: a day page's theme
section has the theme's slug as its id, a paper card has ``p-<id>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

from digest.errors import DigestError

HOME = "index.html"
SEARCH = "search.html"
STARRED = "starred.html"
ARCHIVE = "archive.html"
FEED = "feed.xml"
NOT_FOUND = "404.html"
ROBOTS = "robots.txt"
SITEMAP = "sitemap.xml"
PAGES_SITEMAP = "sitemaps/pages.xml"
ASSETS = "assets"
STYLESHEET = f"{ASSETS}/style.css"
FAVICON = f"{ASSETS}/favicon.svg"
SITE_SCRIPT = f"{ASSETS}/site.js"
LUNR_SCRIPT = f"{ASSETS}/vendor/lunr.js"
SEARCH_SCRIPT = f"{ASSETS}/search.js"
SEARCH_DIR = f"{ASSETS}/search"
SEARCH_MANIFEST = f"{SEARCH_DIR}/manifest.js"


@dataclass(frozen=True)
class SiteLinks:
    """The fixed pages and assets every template may link to."""

    home: str = HOME
    assets: str = ASSETS
    search: str = SEARCH
    starred: str = STARRED
    archive: str = ARCHIVE
    feed: str = FEED
    sitemap: str = SITEMAP
    stylesheet: str = STYLESHEET
    favicon: str = FAVICON
    site_script: str = SITE_SCRIPT
    lunr_script: str = LUNR_SCRIPT
    search_script: str = SEARCH_SCRIPT
    search_index: str = SEARCH_DIR
    search_manifest: str = SEARCH_MANIFEST


def day_path(date: dt.date) -> str:
    return f"days/{date.isoformat()}.html"


def theme_path(slug: str, page: int = 0) -> str:
    """Return a theme's main page (0) or page ``page`` of its archive (1 = oldest papers)."""
    return f"themes/{slug}.html" if page == 0 else f"themes/{slug}/page-{page}.html"


def theme_feed_path(slug: str) -> str:
    return f"themes/{slug}.xml"


def paper_path(paper_id: str) -> str:
    return f"papers/{paper_id}.html"


def year_path(year: int) -> str:
    return f"archive/{year}.html"


def month_path(year: int, month: int) -> str:
    return f"archive/{year}-{month:02d}.html"


def papers_sitemap_path(month: str, part: int) -> str:
    """Return the sitemap of papers first seen in ``month`` (YYYY-MM); part 2+ of a busy one."""
    return f"sitemaps/papers-{month}{f'-{part}' if part > 1 else ''}.xml"


def section_id(slug: str) -> str:
    """Return the element id of a theme's section on a day page."""
    return slug


def paper_anchor(paper_id: str) -> str:
    """Return the element id of a paper's card on a day page."""
    return f"p-{paper_id}"


def day_section(date: dt.date, slug: str) -> str:
    """Return the link to a theme's section of a day page."""
    return f"{day_path(date)}#{section_id(slug)}"


def arxiv_search(title: str) -> str:
    """Return an arXiv title search, for a paper known by its title only."""
    return f"https://arxiv.org/search/?searchtype=title&query={_query(title)}"


def hf_search(title: str) -> str:
    return f"https://huggingface.co/papers?q={_query(title)}"


@lru_cache(maxsize=1)
def _query(title: str) -> str:
    """Quote a title once for both searches of a card (asked one after the other):
    ``quote_plus`` is pure Python, 3% of a full build's CPU when called twice a card."""
    return quote_plus(title)


def arxiv_abstract(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{quote(arxiv_id)}"


def arxiv_pdf(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{quote(arxiv_id)}"


def hf_paper(arxiv_id: str) -> str:
    return f"https://huggingface.co/papers/{quote(arxiv_id)}"


def external(url: str | None) -> str:
    """Return a link a source gave (a code repository, a project page) if it is safe to follow.

    Only http(s) URLs without spaces or control characters: a ``javascript:`` or ``data:``
    link from a response must never become a link on the site. Empty when it is not one.
    """
    if not url or not url.startswith(("https://", "http://")) or len(url) > 2000:
        return ""
    if not url.isprintable() or any(c in url for c in ' <>"\\`'):
        return ""
    return url


def repository_name(url: str) -> str:
    """Return how a code link is labelled: ``owner/name`` for GitHub, else the host."""
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    if parts.hostname in ("github.com", "www.github.com") and len(path) >= 2:
        return f"{path[0]}/{path[1].removesuffix('.git')}"
    return parts.hostname or url


def root_of(path: str) -> str:
    """Return the relative prefix from a page at ``path`` to the site root (``../`` a folder)."""
    return "../" * path.count("/")


def absolute(base_url: str, path: str) -> str:
    """Join a site path to ``base_url``: the one place absolute URLs are made."""
    return base_url.rstrip("/") + "/" + path


def link_prefix(base_url: str, path: str) -> str:
    """Return what a file at ``path`` puts before site paths: base_url, else a relative root."""
    return absolute(base_url, "") if base_url else root_of(path)


def check_base_url(value: str, what: str = "base_url", path: Path | None = None) -> str:
    """Accept an empty base_url (relative links only) or an http(s) URL: the one check of it."""
    if value and not value.startswith(("http://", "https://")):
        raise DigestError(f"{what} must start with http:// or https://, got {value!r}", path)
    if value and not urlsplit(value).hostname:
        raise DigestError(f"{what} needs a host name after the scheme, got {value!r}", path)
    return value


def check_site_path(site_path: str) -> None:
    """Refuse a path that would land outside the site folder."""
    parts = site_path.split("/")
    if site_path.startswith("/") or not all(parts) or ".." in parts or "." in parts:
        raise DigestError(f"refusing to write outside the site folder: {site_path!r}")
