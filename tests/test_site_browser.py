"""The built sample site in a real headless Chromium, at phone and desktop widths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

PAGES = ["index.html", "days/2024-10-21.html", "themes/quantization.html"]
WIDTHS = {"phone": 360, "desktop": 1280}
SHOTS = (
    Path(os.environ.get("DIGEST_SCREENSHOTS", "")) if os.environ.get("DIGEST_SCREENSHOTS") else None
)


@pytest.mark.browser
@pytest.mark.parametrize("width_name", list(WIDTHS))
@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly_and_fits(
    browser: Any, sample_site: Path, page_path: str, width_name: str
) -> None:
    width = WIDTHS[width_name]
    page = browser.new_page(viewport={"width": width, "height": 800})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.goto((sample_site / page_path).as_uri())
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator("header.site-header").is_visible()
    assert page.locator("main h1").is_visible()
    assert page.locator("input[name=q]").first.is_visible()
    stylesheet_applied = page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).borderBottomStyle"
    )
    assert stylesheet_applied == "solid"
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = page_path.replace("/", "_").replace(".html", "")
        page.screenshot(path=str(SHOTS / f"{name}-{width_name}.png"), full_page=False)
    page.close()


@pytest.mark.browser
def test_dark_mode_changes_colours(browser: Any, sample_site: Path) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        page = browser.new_page(color_scheme=scheme)
        page.goto((sample_site / "index.html").as_uri())
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.close()
    assert colours["light"] == "rgb(255, 255, 255)"
    assert colours["dark"] != colours["light"]


@pytest.mark.browser
def test_keyboard_focus_is_visible_and_skip_link_works(browser: Any, sample_site: Path) -> None:
    page = browser.new_page()
    page.goto((sample_site / "days/2024-04-24.html").as_uri())
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.close()
