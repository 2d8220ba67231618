"""`digest build`: a complete static site that is linked up, deterministic, atomic and escaped.

Golden files: ``tests/golden/site/`` holds the expected build of ``tests/data/tiny``. After an
intended change to templates or views, refresh them with::

    DIGEST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_build.py -k golden
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import digest.build.pool as pool
import digest.build.writer as writer
import digest.site.plan as site_plan
from digest.build.run import build
from digest.build.writer import MANIFEST, SiteWriter
from digest.errors import DigestError
from digest.pages.library import load_library
from digest.project import Project
from digest.site.keys import Keys
from digest.site.views import Views
from tests.conftest import SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]
GOLDEN = Path(__file__).parent / "golden" / "site"


def files(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


class Links(HTMLParser):
    """Collect every href/src and every id of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def crawl(site: Path) -> list[str]:
    """Return every internal link (with its page) that does not resolve to a file and anchor."""
    pages: dict[Path, Links] = {}
    for page in site.rglob("*.html"):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.is_file() or not target.is_relative_to(site.resolve()):
                broken.append(f"{page.relative_to(site.resolve())}: {link}")
            elif parts.fragment and target in pages and parts.fragment not in pages[target].ids:
                broken.append(f"{page.relative_to(site.resolve())}: {link} (no such anchor)")
    return broken


def test_every_internal_link_and_asset_of_the_sample_site_resolves(sample_site: Path) -> None:
    assert len(list(sample_site.glob("papers/*.html"))) == 416
    assert len(list(sample_site.glob("days/*.html"))) == 4
    assert crawl(sample_site) == []


def test_sample_site_has_every_page_type(sample_site: Path) -> None:
    for name in [
        "index.html",
        "days/2024-04-24.html",
        "themes/quantization.html",
        "themes/other.html",
        "themes/other/page-2.html",
        "archive.html",
        "archive/2024.html",
        "archive/2024-04.html",
        "feed.xml",
        "themes/inr.xml",
        "robots.txt",
        "404.html",
        "search.html",
        "assets/style.css",
    ]:
        assert (sample_site / name).is_file(), name
    assert not (sample_site / "sitemap.xml").exists()  # relative URLs are not allowed there


def test_feeds_and_sitemap_are_well_formed_xml(
    sample_site: Path, tmp_path: Path, cli: Cli
) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(sample_site / "feed.xml").getroot()
    assert feed.tag == f"{atom}feed"
    entries = feed.findall(f"{atom}entry")
    assert len(entries) == 50
    assert all(e.find(f"{atom}title") is not None for e in entries)
    for theme_feed in sample_site.glob("themes/*.xml"):
        assert ET.parse(theme_feed).getroot().tag == f"{atom}feed"
    base = "https://digest.example.org/"
    site = tmp_path / "site"
    shutil.copytree(sample_site.parent / "content", tmp_path / "content")
    assert cli("build", "--base-url", base, cwd=tmp_path).code == 0
    index = ET.parse(site / "sitemap.xml").getroot()
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    locs = [(e[0].text or "").removeprefix(base) for e in index]
    months = {
        f"sitemaps/papers-{p.name[:7]}.xml" for p in (site / "days").glob("*.html")
    }  # each sample paper is first seen on one of these days
    assert locs[0] == "sitemaps/pages.xml" and sorted(locs[1:]) == sorted(months)
    urls = [url for loc in locs for url in ET.parse(site / loc).getroot()]
    assert len(urls) == 1 + 4 + 5 + 416 + 1
    assert all((url[0].text or "").startswith(base) for url in urls)
    assert all(len(ET.parse(site / loc).getroot()) <= 50_000 for loc in locs)


def test_a_month_with_more_papers_than_a_sitemap_holds_goes_on_in_a_second_file(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_plan, "SITEMAP_URLS", 2)
    build(Project.find(tiny), base_url="https://x.org/")
    site = tiny / "site"
    index = [(e[0].text or "")[14:] for e in ET.parse(site / "sitemap.xml").getroot()]
    assert index == [
        "sitemaps/pages.xml",
        "sitemaps/papers-2024-01.xml",
        "sitemaps/papers-2024-01-2.xml",
    ]
    sizes = [len(ET.parse(site / loc).getroot()) for loc in index[1:]]
    assert sizes == [2, 2]


def test_a_note_on_a_paper_leaves_the_sitemaps_alone(tiny: Path) -> None:
    """Sitemaps list URLs and dates: their keys must not change with a paper's text."""
    project = Project.find(tiny)
    build(project)
    config = replace(project.config, base_url="https://x.org/")

    def keys() -> dict[str, str | None]:
        library = load_library(project.digests_dir, project.themes)
        plan = site_plan.plan(Views(library, config), Keys(library))
        return {spec.path: spec.key for spec in plan}

    before = keys()
    page = sorted(project.digests_dir.glob("*.md"))[0]
    text = page.read_text(encoding="utf-8")
    end = text.find("\n### ", text.index("\n### ") + 1)
    page.write_text(text[:end] + "\n\nA note.\n" + text[end:], encoding="utf-8")
    after = keys()
    assert before[f"days/{page.stem}.html"] != after[f"days/{page.stem}.html"]
    sitemaps = [path for path in before if path.startswith("sitemaps/papers-")]
    assert sitemaps and all(before[path] == after[path] is not None for path in sitemaps)


def test_day_page_groups_papers_with_navigation(sample_site: Path) -> None:
    html = (sample_site / "days/2024-04-24.html").read_text()
    assert 'rel="prev" href="../days/2024-03-17.html"' in html
    assert 'rel="next" href="../days/2024-09-02.html"' in html
    assert '<nav class="toc"' in html and 'href="#other"' in html
    assert "https://arxiv.org/search/?searchtype=title&amp;query=" in html
    assert "<li>Why Quantization: " in html  # inside each card's abstract, which opens in place
    paper = (sample_site / "papers/7211cbff64de.html").read_text()
    assert "https://huggingface.co/papers?q=" in paper and "Why these themes" in paper


def test_papers_seen_on_several_days_link_them(sample_site: Path) -> None:
    later = (sample_site / "days/2024-10-21.html").read_text()
    assert "First seen on" in later
    appeared = [
        html[html.index('id="dates"') : html.index("</section>", html.index('id="dates"'))]
        for html in (p.read_text() for p in sample_site.glob("papers/*.html"))
    ]
    dates_listed = [section.count("<time ") for section in appeared]
    assert len(dates_listed) == 416 and sum(dates_listed) == 458  # 458 entries, 416 papers
    assert max(dates_listed) >= 2


def generated(site: Path) -> dict[str, bytes]:
    """Return the files a build makes (static assets are plain copies, not worth a golden)."""
    return {
        name: data
        for name, data in files(site).items()
        if not name.startswith("assets/") or name.startswith("assets/search/")
    }


def test_golden_tiny_site(tiny: Path) -> None:
    build(Project.find(tiny))
    built = generated(tiny / "site")
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in built.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    expected = generated(GOLDEN)
    assert sorted(built) == sorted(expected)
    for name, data in built.items():
        assert data == expected[name], f"{name} differs from the golden file"


def test_build_is_deterministic(tiny: Path, tmp_path: Path) -> None:
    project = Project.find(tiny)
    build(project, out=tmp_path / "one")
    build(project, out=tmp_path / "two", clean=True)
    assert files(tmp_path / "one") == files(tmp_path / "two")


def test_two_worker_build_equals_one_process_build(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.find(tiny)
    build(project, out=tmp_path / "serial")
    shutil.rmtree(project.cache_dir)
    pools: list[str] = []
    real_get_context = pool.multiprocessing.get_context

    def spy(method: str) -> object:
        pools.append(method)
        return real_get_context(method)

    monkeypatch.setattr(pool, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)  # a one-core runner too
    monkeypatch.setattr(pool.multiprocessing, "get_context", spy)
    # After the browser tests their driver's threads live on in this process, and a build
    # with other threads stays in-process; the workers never touch those threads.
    monkeypatch.setattr(pool.threading, "active_count", lambda: 1)
    build(project, out=tmp_path / "pool")
    assert pools == ["fork"]
    assert files(tmp_path / "pool") == files(tmp_path / "serial")
    days = sorted(project.digests_dir.glob("*.md"))
    cached = sorted(project.cache_dir.glob("days-*/*.pickle"))
    assert [p.name for p in cached] == [f"{d.name}.pickle" for d in days]  # written meanwhile
    assert len(list(project.cache_dir.glob("search/*-*.marshal"))) == 2  # by the workers


def test_site_files_keep_the_users_umask(tiny: Path) -> None:
    old = os.umask(0o002)
    try:
        build(Project.find(tiny))
    finally:
        os.umask(old)
    site = tiny / "site"
    for page in (site / "index.html", next((site / "papers").glob("*.html"))):
        assert page.stat().st_mode & 0o777 == 0o664, page


def test_an_unlistable_folder_in_the_site_is_rebuilt_not_a_crash(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.find(tiny)
    build(project)
    papers = len(list((tiny / "site/papers").glob("*.html")))
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("/papers"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(writer.os, "scandir", scandir)
    (tiny / "content/digests" / "2024-01-15.md").touch()  # not a no-op: pages are checked
    report = build(project)  # the papers' folder cannot be checked: its pages are written
    assert report.written == papers == 4


def test_pages_under_a_symlinked_folder_count_as_present(tiny: Path, tmp_path: Path) -> None:
    project = Project.find(tiny)
    build(project)
    site = tiny / "site"
    (site / "papers").rename(tmp_path / "papers-elsewhere")
    (site / "papers").symlink_to(tmp_path / "papers-elsewhere")
    report = build(project)
    assert report.written == 0 and report.unchanged > 0


def test_rebuild_is_incremental_and_removes_stale_pages(tiny: Path) -> None:
    project = Project.find(tiny)
    first = build(project)
    assert first.written == len(files(tiny / "site")) and first.unchanged == 0
    mtimes = {p: p.stat().st_mtime_ns for p in (tiny / "site").rglob("*.html")}
    second = build(project)
    assert (second.written, second.removed) == (0, 0)
    assert {p: p.stat().st_mtime_ns for p in (tiny / "site").rglob("*.html")} == mtimes
    (tiny / "content/digests/2024-01-16.md").unlink()
    (tiny / "content/raw/day2.txt").unlink()
    third = build(project)
    assert third.removed > 0
    assert not (tiny / "site/days/2024-01-16.html").exists()
    clean = build(project, clean=True)
    assert clean.written == len(files(tiny / "site"))


def test_failed_build_keeps_the_previous_site(tiny: Path, cli: Cli) -> None:
    assert cli("build", cwd=tiny).code == 0
    before = files(tiny / "site")
    (tiny / "templates").mkdir()
    (tiny / "templates/day.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n{{ page.nope }}\n{% endblock %}\n'
    )
    result = cli("build", cwd=tiny)
    assert result.code == 1
    assert re.search(r"templates/day\.html:3: template error: .*nope", result.err), result.err
    assert "Traceback" not in result.err
    assert files(tiny / "site") == before
    assert not list(tiny.glob(".site.staging*"))


def test_template_syntax_error_names_file_and_line(tiny: Path, cli: Cli) -> None:
    (tiny / "templates").mkdir()
    (tiny / "templates/home.html").write_text(
        "{% extends 'base.html' %}\n{% block main %}\n{% if %}\n"
    )
    result = cli("build", cwd=tiny)
    assert result.code == 1
    assert "templates/home.html:3: template error:" in result.err
    assert not (tiny / "site").exists()


def test_project_templates_override_defaults_file_by_file(tiny: Path) -> None:
    (tiny / "templates/static").mkdir(parents=True)
    (tiny / "templates/404.html").write_text("custom {{ site.title }}\n")
    (tiny / "templates/static/extra.css").write_text("body{}")
    build(Project.find(tiny))
    assert (tiny / "site/404.html").read_text() == "custom Tiny digest\n"
    assert (tiny / "site/assets/extra.css").is_file()
    assert "<!doctype html>" in (tiny / "site/index.html").read_text()


@pytest.mark.parametrize("site_path", ["../x.html", "/etc/x", "a//b.html", "a/./b", ".", ""])
def test_site_writer_refuses_paths_outside_the_site(tmp_path: Path, site_path: str) -> None:
    writer = SiteWriter(tmp_path / "site", clean=False)
    with pytest.raises(DigestError, match="refusing to write outside"):
        writer.stage(site_path, b"x", None)
    writer.stage("a/b.html", b"x", None)
    assert (tmp_path / ".site.staging/a/b.html").read_bytes() == b"x"


def test_shared_footer_is_rendered_per_folder_depth(tiny: Path) -> None:
    (tiny / "templates").mkdir()
    footer = "<p id=f><a href=\"{{ url('feed.xml') }}\">f</a></p>\n"
    (tiny / "templates/_footer.html").write_text(footer)
    build(Project.find(tiny))
    site = tiny / "site"
    paper = next((site / "papers").glob("*.html"))
    assert '<p id=f><a href="feed.xml">f</a></p>' in (site / "index.html").read_text()
    assert '<p id=f><a href="../feed.xml">f</a></p>' in paper.read_text()
    theme_archive = next((site / "themes").glob("*/page-*.html"))
    assert '<p id=f><a href="../../feed.xml">f</a></p>' in theme_archive.read_text()


def test_shared_partial_that_reads_the_page_is_a_clear_error(tiny: Path, cli: Cli) -> None:
    (tiny / "templates").mkdir()
    (tiny / "templates/_header.html").write_text("<header>\n{{ page.title }}\n</header>\n")
    result = cli("build", cwd=tiny)
    assert result.code == 1
    assert re.search(r"templates/_header\.html:2: template error: .*page", result.err), result.err
    assert "Traceback" not in result.err


HOSTILE_DUMP = """Jan 20

<script>alert("title")</script> & "Quoted" 'Title' <img src=x onerror=alert(1)>

Abstract with <b>raw HTML</b>, <script>alert("abstract")</script>, ]]> and $a<b$ math.
"""


def test_untrusted_text_is_escaped_everywhere(tiny: Path) -> None:
    (tiny / "content/raw/hostile.txt").write_text(HOSTILE_DUMP)
    build(Project.find(tiny), base_url="https://example.org/d/")
    site = tiny / "site"
    for page in [*site.rglob("*.html"), *site.rglob("*.xml")]:
        text = page.read_text()
        assert "<script>alert" not in text, page
        assert "<img src=x" not in text, page
        assert "<b>raw HTML</b>" not in text, page
    day = (site / "days/2024-01-20.html").read_text()
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; &amp; &#34;Quoted&#34;" in day
    assert "&lt;b&gt;raw HTML&lt;/b&gt;" in day
    ET.parse(site / "feed.xml")  # still well-formed with ]]> and & in the text


def test_base_url_gives_canonical_links(tiny: Path, cli: Cli) -> None:
    assert cli("build", "--base-url", "https://example.org/papers/", cwd=tiny).code == 0
    day = (tiny / "site/days/2024-01-15.html").read_text()
    assert '<link rel="canonical" href="https://example.org/papers/days/2024-01-15.html">' in day
    assert 'href="../index.html"' in day  # links stay relative
    robots = (tiny / "site/robots.txt").read_text()
    assert "Sitemap: https://example.org/papers/sitemap.xml" in robots
    feed = (tiny / "site/feed.xml").read_text()
    assert "<id>https://example.org/papers/papers/" in feed


def test_without_base_url_there_are_no_absolute_links(tiny: Path) -> None:
    build(Project.find(tiny))
    index = (tiny / "site/index.html").read_text()
    assert 'rel="canonical"' not in index
    assert re.findall(r'(?:href|src)="/', index) == []


def test_bad_base_url_is_a_clear_error(tiny: Path, cli: Cli) -> None:
    result = cli("build", "--base-url", "example.org", cwd=tiny)
    assert result.code == 2  # a command-line mistake
    assert "argument --base-url: the URL must start with http" in result.err


def test_out_option_and_refusing_to_overwrite_the_project(
    tiny: Path, cli: Cli, tmp_path: Path
) -> None:
    assert cli("build", "--out", tmp_path / "elsewhere", cwd=tiny).code == 0
    assert (tmp_path / "elsewhere/index.html").is_file()
    result = cli("build", "--out", ".", cwd=tiny)
    assert result.code == 1 and "choose another --out" in result.err


def test_clean_never_deletes_files_digest_did_not_write(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    build(Project.find(tiny), out=out, clean=True)
    assert (out / "precious.txt").read_text() == "keep me"


def test_build_summary_line(tiny: Path, cli: Cli) -> None:
    result = cli("build", cwd=tiny)
    assert result.code == 0
    assert re.search(r"site: \d+ files written, 0 unchanged, 0 removed in \d+\.\d\d s", result.out)
    assert "ingested" in result.out


def test_init_creates_a_project_that_builds(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "new", cwd=tmp_path)
    assert result.code == 0, result.err
    new = tmp_path / "new"
    assert (new / "content/digest.yaml").is_file() and (new / "content/themes.yaml").is_file()
    shutil.copy(SAMPLE_FILES["001"], new / "content/raw")
    assert cli("build", cwd=new).code == 0
    assert (new / "site/days").is_dir()
    assert crawl(new / "site") == []
    again = cli("init", new, cwd=tmp_path)
    assert again.code == 1 and "already a digest project" in again.err


def test_broken_digest_page_fails_the_build_cleanly(tiny: Path, cli: Cli) -> None:
    assert cli("build", cwd=tiny).code == 0
    before = files(tiny / "site")
    (tiny / "content/digests/2024-01-15.md").write_text("---\ndate: nope\n---\n")
    result = cli("build", cwd=tiny)
    assert result.code == 1
    assert "2024-01-15.md:2: front matter date 'nope' is not YYYY-MM-DD" in result.err
    assert files(tiny / "site") == before


def test_build_raises_digest_error_for_missing_project(tmp_path: Path) -> None:
    with pytest.raises(DigestError):
        build(Project.find(tmp_path))


def test_a_build_runs_the_garbage_collector_rarely_and_restores_it(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 50,000 papers the collector walking the heap was a quarter of a rebuild."""
    import gc

    import digest.build.full as run

    seen: list[int] = []
    real = run.library_from

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold()[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "library_from", spy)
    before = gc.get_threshold()
    build(Project.find(tiny))
    assert seen == [100_000] and gc.get_threshold() == before


def test_raw_dumps_are_hashed_once_not_on_every_build(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digest.fsutil as fsutil

    hashed: list[str] = []
    real = fsutil.sha256_file
    monkeypatch.setattr(fsutil, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    project = Project.find(tiny)
    build(project)
    first = len(hashed)
    assert first >= 2  # each dump at least once (ingest records it too)
    (tiny / "content/digests/2024-01-15.md").touch()  # a rebuild, not a no-op
    build(project)
    assert len(hashed) == first  # the dumps' stamps did not change: their hashes are known
    (tiny / "content/raw/day1.txt").write_text((tiny / "content/raw/day1.txt").read_text() + "\n")
    build(project)
    assert hashed[first:].count("day1.txt") >= 1


def test_the_largest_sample_day_stays_light_with_every_abstract(sample_site: Path) -> None:
    """250 papers: under 150 KB gzip, and yet every abstract is in the page, folded."""
    import gzip

    html = (sample_site / "days/2024-10-21.html").read_bytes()
    assert len(gzip.compress(html, 6)) < 150_000
    text = html.decode("utf-8")
    assert text.count('<details class="more">') == text.count('<p class="abstract">') == 250


def test_a_template_edited_between_builds_is_used_though_compiled_ones_are_kept(
    tiny: Path,
) -> None:
    """Compiled templates are kept in the cache; Jinja checks each against its source."""
    project = Project.find(tiny)
    (tiny / "templates").mkdir()
    footer = tiny / "templates/_footer.html"
    footer.write_text("<footer>first words</footer>\n")
    build(project)
    assert list((project.cache_dir / "templates").glob("*.cache"))
    assert "first words" in (tiny / "site/index.html").read_text()
    footer.write_text("<footer>second words</footer>\n")
    build(project)
    assert "second words" in (tiny / "site/index.html").read_text()
