"""Render the notes people write in digest pages (Markdown) to HTML that cannot run script.

Notes are the digest owner's own words, but pages are often assembled from pasted web text and
shared, so raw HTML is escaped rather than passed through (Markdown formatting works, markup
does not), and what Markdown makes is cleaned by nh3 (the Ammonia sanitiser): a safe subset
of tags, no event-handler or style attributes (Markdown's ``{: onerror=...}`` attribute lists
could add them), and links and images only to http(s), mailto and relative URLs, judged
after entities and control characters are decoded the way a browser decodes them.
"""

from __future__ import annotations

from functools import lru_cache

import markdown
import nh3
from markupsafe import Markup

URL_SCHEMES = frozenset({"http", "https", "mailto"})
FOOTNOTE_CLASSES = frozenset({"footnote", "footnote-ref", "footnote-backref"})
"""What Markdown's footnotes put on their elements: kept so footnotes still link up."""


def _footnote_attributes(tag: str, name: str, value: str) -> str | None:
    """Keep the ids and classes of Markdown footnotes, and no other id or class."""
    if name == "id":
        return value if value.startswith(("fn:", "fnref:")) else None
    if name == "class":
        return value if value in FOOTNOTE_CLASSES else None
    return value


ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "title", "class"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "sup": {"id"},
    "li": {"id"},
    "div": {"class"},
}


@lru_cache(maxsize=1)
def _converter() -> markdown.Markdown:
    converter = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


def clean_html(html: str) -> str:
    """Return ``html`` reduced to the safe subset notes may use."""
    return nh3.clean(
        html,
        attributes=ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_footnote_attributes,
        link_rel="noopener noreferrer",
    )


@lru_cache(maxsize=4096)
def render_notes(text: str) -> Markup:
    """Return safe HTML for a Markdown note."""
    converter = _converter()
    converter.reset()
    return Markup(clean_html(converter.convert(text)))  # noqa: S704 - sanitised just now
