"""Text from content never runs as script: notes are sanitised, feeds stay well-formed XML.

Notes are the user's own Markdown, but pages are shared: a note may format, link and show
images, never add an event handler or a ``javascript:`` link, however it is spelled.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from digest.site.notes import render_notes
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

HOSTILE_NOTES = [
    '![pic](missing.png){: onerror="window.pwned=1"}',
    '[click me](#){: onclick="window.pwned=1" }',
    '[focus me](#){: onfocus="window.pwned=1" autofocus tabindex="1" }',
    "[entity](&#106;avascript:window.pwned=1)",
    "[control](\x01javascript:window.pwned=1)",
    "[tab](java\tscript:window.pwned=1)",
    "[plain](javascript:window.pwned=1)",
    "[upper](JaVaScRiPt:window.pwned=1)",
    "[data](data:text/html,<script>window.pwned=1</script>)",
    "![svg](data:image/svg+xml,<svg onload='window.pwned=1'/>)",
    'para with a style\n{: style="background:url(javascript:window.pwned=1)" }',
    "<img src=x onerror=window.pwned=1>",
]


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [(tag, name, value or "") for name, value in attrs]


def attributes(html: str) -> list[tuple[str, str, str]]:
    parser = _Attributes()
    parser.feed(html)
    return parser.found


def scheme(url: str) -> str:
    """Return a URL's scheme as a browser reads it ("" for a relative URL)."""
    url = re.sub("[\t\n\r]", "", url).lstrip("".join(map(chr, range(33))))
    found = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    return found.group(1).lower() if found else ""


@pytest.mark.parametrize("note", HOSTILE_NOTES)
def test_a_note_keeps_no_handler_style_or_script_url(note: str) -> None:
    for tag, name, value in attributes(render_notes(note)):
        assert not name.startswith("on") and name != "style", (tag, name)
        if name in ("href", "src"):
            assert scheme(value) in ("", "http", "https", "mailto"), (tag, value)


def test_safe_markdown_still_works() -> None:
    html = render_notes(
        "*em* **strong** `code` [a link](https://example.org/?a=1&b=2) ![img](fig.png)\n\n"
        "- one\n- two\n\nA footnote[^1].\n\n[^1]: The note.\n"
    )
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html
    assert '<a href="https://example.org/?a=1&amp;b=2"' in html
    assert '<img src="fig.png" alt="img">' in html or '<img alt="img" src="fig.png">' in html
    assert '<li id="fn:1">' in html and 'href="#fn:1"' in html


def _with_notes(tiny: Path, cli: Cli, notes: list[str]) -> Path:
    assert cli("build", cwd=tiny).code == 0
    page = tiny / "content" / "digests" / "2024-01-16.md"
    page.write_text(page.read_text().rstrip("\n") + "\n\n" + "\n\n".join(notes) + "\n")
    result = cli("build", cwd=tiny)
    assert result.code == 0, result.err
    return tiny / "site" / "days" / "2024-01-16.html"


@pytest.mark.browser
def test_hostile_notes_run_no_script_in_chromium(browser: Any, tiny: Path, cli: Cli) -> None:
    day = _with_notes(tiny, cli, HOSTILE_NOTES)
    page = browser.new_page()
    page.goto(day.as_uri())
    page.wait_for_load_state("load")
    fired = page.evaluate(
        """() => {
            const notes = [...document.querySelectorAll('.notes *')];
            for (const el of notes) {
                for (const type of ['error', 'load', 'click', 'focus', 'mouseover']) {
                    if (type === 'click' && el.closest('a')) continue;  // no navigating away
                    el.dispatchEvent(new Event(type));
                }
            }
            return notes.length;
        }"""
    )
    assert fired >= 10  # the notes are there, made harmless
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    protocols = page.evaluate("[...document.querySelectorAll('.notes a')].map(a => a.protocol)")
    assert len(protocols) >= 8
    assert not {"javascript:", "data:", "vbscript:"} & set(protocols), protocols
    page.close()


XML_FORBIDDEN = [chr(c) for c in range(1, 32) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"]
"""The 30 characters XML 1.0 forbids that a UTF-8 text dump can carry (NUL makes it binary)."""


def test_every_xml_output_stays_well_formed_with_control_characters(tiny: Path, cli: Cli) -> None:
    assert len(XML_FORBIDDEN) == 30
    dump = "Jan 17\n\n" + "".join(
        f"Title {i} with {char} in it\n\nAn abstract with {char} in it.\n\n"
        for i, char in enumerate(XML_FORBIDDEN)
    )
    (tiny / "content" / "raw" / "day3.txt").write_text(dump, encoding="utf-8")
    result = cli("build", "--base-url", "https://digest.example.org/", cwd=tiny)
    assert result.code == 0, result.err
    outputs = sorted((tiny / "site").rglob("*.xml"))
    assert len(outputs) >= 6
    for output in outputs:
        ET.parse(output)  # raises on a forbidden character
    feed = (tiny / "site" / "feed.xml").read_text(encoding="utf-8")
    assert "Title 0 with  in it" in feed and "Title 29 with  in it" in feed
