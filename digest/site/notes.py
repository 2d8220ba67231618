"""Render the notes people write in digest pages (Markdown) to HTML, with raw HTML shown as text.

Notes are the digest owner's own words, but pages are often assembled from pasted web text, so
raw HTML is escaped rather than passed through: Markdown formatting works, markup does not.
"""

from __future__ import annotations

import re
from functools import lru_cache
from xml.etree.ElementTree import Element

import markdown
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

UNSAFE_URL = re.compile(r"^\s*(?:javascript|vbscript|data):", re.IGNORECASE)


class _DropUnsafeUrls(Treeprocessor):
    """Remove ``javascript:`` and similar URLs from links and images."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                if UNSAFE_URL.match(element.get(attribute, "")):
                    element.set(attribute, "#")


@lru_cache(maxsize=1)
def _converter() -> markdown.Markdown:
    converter = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    converter.treeprocessors.register(_DropUnsafeUrls(converter), "drop_unsafe_urls", 0)
    return converter


@lru_cache(maxsize=4096)
def render_notes(text: str) -> Markup:
    """Return safe HTML for a Markdown note."""
    converter = _converter()
    converter.reset()
    return Markup(converter.convert(text))  # noqa: S704 - markdown output with raw HTML disabled
