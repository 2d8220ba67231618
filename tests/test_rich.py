"""Rich papers: identity across text dumps and API responses, and what the site shows of them.

``tests/data/rich`` is a project with a text dump of 16 January (its digest page written before
any API data, with a note by hand), then saved API responses of 17, 19 and 20 (a weekend with
none) January. Its golden files are the whole built site and the email of 19 January:

    DIGEST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_rich.py -k golden
"""

from __future__ import annotations

import email
import json
import os
import pickle
import re
import shutil
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from digest.build.run import build
from digest.model import NO_META, Meta, Paper
from digest.pages.format import read_day
from digest.project import Project
from tests.conftest import DATA, CliResult
from tests.hf_api import RECORDED

Cli = Callable[..., CliResult]
RICH = DATA / "rich"
GOLDEN = Path(__file__).parent / "golden" / "rich"
UPVOTES = '<span aria-hidden="true">▲</span> {}<span class="visually-hidden"> upvotes</span>'
JANUS, SPARSE, FIELDS = "2401.09001", "2401.09002", "2401.09003"
JANUS_HASH = "fd6b64b8164d"
BASE = "https://digest.example.org/"


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    root = tmp_path / "rich"
    shutil.copytree(RICH, root)
    return root


def page(root: Path, date: str) -> str:
    return (root / "content" / "digests" / f"{date}.md").read_text(encoding="utf-8")


def site(root: Path, path: str) -> str:
    return (root / "site" / path).read_text(encoding="utf-8")


def papers_of(root: Path, date: str) -> list[tuple[str, str]]:
    day = read_day(root / "content" / "digests" / f"{date}.md")
    return [(p.id, p.title) for _, p in day.placed_papers()]


def generated(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.name != ".digest-manifest.json"
        and (p.relative_to(folder).parts[0] != "assets" or "search" in p.parts)
    }


# --- golden files --------------------------------------------------------------------------


def test_golden_rich_site(rich: Path) -> None:
    build(Project.find(rich))
    built = generated(rich / "site")
    pages = {f"site/{name}": data for name, data in built.items()}
    pages["digests/2024-01-16.md"] = page(rich, "2024-01-16").encode()
    pages["digests/2024-01-17.md"] = page(rich, "2024-01-17").encode()
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN / "site", ignore_errors=True)
        for name, data in pages.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    expected = {
        name: data
        for name, data in generated(GOLDEN).items()
        if name.startswith(("site/", "digests/"))
    }
    assert sorted(pages) == sorted(expected)
    for name, data in pages.items():
        assert data == expected[name], f"{name} differs from the golden file"


def rich_email(rich: Path, cli: Cli, *args: str) -> tuple[str, str]:
    out = rich / "out.eml"
    result = cli("email", "2024-01-17", "--base-url", BASE, "--from", "Digest <d@example.org>",
                 *args, "--out", out, cwd=rich)  # fmt: skip
    assert result.code == 0, result.err
    message = email.message_from_bytes(out.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    text, html = (str(p.get_content()).replace("\r\n", "\n") for p in message.iter_parts())
    return text, html


def test_golden_rich_email(rich: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert cli("ingest", cwd=rich).code == 0
    text, html = rich_email(rich, cli)
    actual = {"email.txt": text, "email.html": html}
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        for name, content in actual.items():
            (GOLDEN / name).write_text(content, encoding="utf-8")
    assert actual == {n: (GOLDEN / n).read_text(encoding="utf-8") for n in actual}


# --- identity ------------------------------------------------------------------------------


def test_a_paper_that_gains_an_arxiv_id_takes_it_and_keeps_its_notes(rich: Path, cli: Cli) -> None:
    before = page(rich, "2024-01-16")
    assert f"{{#p-{JANUS_HASH}}}" in before
    result = cli("ingest", cwd=rich)
    assert result.code == 0, result.err
    after = page(rich, "2024-01-16")
    assert f"{{#p-{JANUS}}}" in after and f"- previous ids: {JANUS_HASH}\n" in after
    assert "My note, written before the paper's arXiv id was known: *read the ablations*." in after
    assert "- authors: " not in after  # the 16th's page says what its own dump said
    listed = page(rich, "2024-01-17")
    assert f"{{#p-{JANUS}}}" in listed and "- first seen: 2024-01-16\n" in listed
    assert cli("ingest", cwd=rich).out.endswith("0 written, 3 unchanged\n")  # idempotent


def test_a_changed_permalink_keeps_resolving(rich: Path) -> None:
    build(Project.find(rich), base_url=BASE)  # sitemaps need absolute URLs
    old = site(rich, f"papers/{JANUS_HASH}.html")
    assert f'<meta http-equiv="refresh" content="0; url=../papers/{JANUS}.html">' in old
    assert f'<a href="../papers/{JANUS}.html">Janus-Tiny' in old
    day = site(rich, "days/2024-01-16.html")
    assert f'<article class="card" id="p-{JANUS}" data-id="{JANUS}"' in day
    assert f'>\n<span id="p-{JANUS_HASH}"></span>' in day
    sitemap = site(rich, "sitemaps/papers-2024-01.xml")
    assert JANUS in sitemap and JANUS_HASH not in sitemap  # a redirect is not a page to index


def test_a_text_dump_and_the_api_of_the_same_day_give_one_paper_each(
    project: Path, cli: Cli
) -> None:
    dump = project / "content" / "raw" / "2024-01-17-page.txt"
    dump.write_text(
        "Jan 17\n"
        "Submitted by\nakhaliq\n80\n"
        "Janus-Tiny: Decoupling Visual Encoding for Unified Multimodal Understanding and "
        "Generation\n· 6 authors\nWe decouple visual encoding into separate pathways.\n"
        "SPARSE CODEBOOKS for low-bit vision transformers\nWe quantize ViTs to 2 bits.\n"
        "A Paper Only The Page Has\nIts abstract.\n",
        encoding="utf-8",
    )
    shutil.copy(RECORDED / "2024-01-17.json", project / "content" / "raw" / "2024-01-17.json")
    assert cli("ingest", dump, cwd=project).code == 0
    assert cli("ingest", cwd=project).code == 0
    papers = papers_of(project, "2024-01-17")
    assert len(papers) == 4 and len({i for i, _ in papers}) == 4
    ids = {i for i, _ in papers}
    assert {JANUS, SPARSE, FIELDS} < ids
    text = page(project, "2024-01-17")
    assert "SPARSE CODEBOOKS for low-bit vision transformers {#p-2401.09002}" in text  # as typed
    janus = text[text.index(f"{{#p-{JANUS}}}") :].split("\n### ")[0]
    assert "- upvotes: 80\n" in janus  # the page's own count stays; what it lacked is added
    assert "- authors: Chengyue Wu, Xiaokang Chen," in janus and "- author count" not in janus
    assert "- previous ids: " in janus


@pytest.mark.parametrize("order", ["api first", "text first"])
def test_either_order_gives_the_same_papers(project: Path, cli: Cli, order: str) -> None:
    raw = project / "content" / "raw"
    api = raw / "2024-01-17.json"
    shutil.copy(RECORDED / "2024-01-17.json", api)
    text = raw / "2024-01-18-page.txt"
    text.write_text("Neural Fields That Forget Gracefully\nWe study forgetting.\n")
    for dump in [api, text] if order == "api first" else [text, api]:
        assert cli("ingest", dump, cwd=project).code == 0
    assert papers_of(project, "2024-01-18") == [(FIELDS, "Neural Fields That Forget Gracefully")]
    assert f"{{#p-{FIELDS}}}" in page(project, "2024-01-17")
    assert "- first seen: 2024-01-17" in page(project, "2024-01-18")


def test_a_title_two_arxiv_papers_share_names_neither(project: Path, cli: Cli) -> None:
    raw = project / "content" / "raw"
    reports = [
        {"paper": {"id": f"2403.0000{i}", "title": "Technical Report", "summary": f"Model {i}."},
         "publishedAt": "2024-03-01T09:00:00Z"}
        for i in (1, 2)
    ]  # fmt: skip
    (raw / "2024-03-01.json").write_text(json.dumps(reports))
    (raw / "2024-03-02-page.txt").write_text("Technical Report\nWhich model is this?\n")
    assert cli("ingest", cwd=project).code == 0
    assert [i for i, _ in papers_of(project, "2024-03-01")] == ["2403.00001", "2403.00002"]
    [(kept, _)] = papers_of(project, "2024-03-02")
    assert len(kept) == 12  # known by its title: it could be either


def test_a_retitled_version_keeps_its_permalink_and_shows_its_new_title(rich: Path) -> None:
    build(Project.find(rich))
    papers = sorted(p.name for p in (rich / "site" / "papers").glob("*.html"))
    assert papers.count(f"{SPARSE}.html") == 1
    assert not any(p.startswith("sparse") for p in papers)
    new = "SparseCode: 2-Bit Vision Transformers with Sparse Codebooks"
    assert f'<h1 class="paper-title">{new}</h1>' in site(rich, f"papers/{SPARSE}.html")
    first_day = site(rich, "days/2024-01-17.html")
    assert f'<a href="../papers/{SPARSE}.html">{new}</a>' in first_day
    assert "Sparse Codebooks for Low-Bit Vision Transformers {#p-2401.09002}" in page(
        rich, "2024-01-17"
    )  # each day's page keeps the title it was listed with


def test_hand_edits_of_the_new_lines_survive_and_show(rich: Path, cli: Cli) -> None:
    """A paper shows what its latest page says: edit that page (older ones are overridden)."""
    shutil.copy(RECORDED / "2024-01-18.json", rich / "content" / "raw" / "2024-01-18.hf.json")
    assert cli("ingest", cwd=rich).code == 0
    edits = {
        "2024-01-17": ("- upvotes: 87\n", "- upvotes: 99\n"),
        "2024-01-18": ("- authors: Jonas Berg, Mira Patel", "- authors: Jonas Berg, M. Patel"),
    }
    for date, (old, new) in edits.items():
        path = rich / "content" / "digests" / f"{date}.md"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new) + "\nA note under the last paper.\n", "utf-8")
    (rich / "content" / "raw" / "2024-01-21.hf.json").write_text("[]")
    assert cli("build", cwd=rich).code == 0
    assert "- upvotes: 99\n" in page(rich, "2024-01-17")
    assert "Jonas Berg, M. Patel" in page(rich, "2024-01-18")
    assert UPVOTES.format(99) in site(rich, f"papers/{JANUS}.html")
    fields = site(rich, f"papers/{FIELDS}.html")
    assert "Jonas Berg, M. Patel" in fields  # the 18th's names
    assert UPVOTES.format(19) in fields  # and count
    assert "A note under the last paper." in site(rich, "days/2024-01-18.html")


def test_a_malformed_count_in_a_page_is_a_clear_error(rich: Path, cli: Cli) -> None:
    path = rich / "content" / "digests" / "2024-01-16.md"
    path.write_text(path.read_text().replace("- themes: quantization", "- themes: quantization\n"
                    "- upvotes: lots"), encoding="utf-8")  # fmt: skip
    result = cli("build", cwd=rich)
    assert result.code == 1
    assert re.fullmatch(
        r"digest: error: \S+2024-01-16\.md:\d+: 'upvotes' must be a whole number, got 'lots'\n",
        result.err,
    )


def test_empty_days_write_nothing(project: Path, cli: Cli) -> None:
    shutil.copy(RECORDED / "2024-01-20.json", project / "content" / "raw" / "2024-01-20.json")
    result = cli("ingest", cwd=project)
    assert result.code == 0 and result.out == "0 digest pages: 0 written, 0 unchanged\n"
    assert not (project / "content" / "digests").exists()


# --- the site, the feeds, the search index and the email -------------------------------------


def test_cards_and_paper_pages_show_the_new_fields(rich: Path) -> None:
    build(Project.find(rich))
    day = site(rich, "days/2024-01-17.html")
    assert "Chengyue Wu, Xiaokang Chen, Zhiyu Wu et al.</span>" in day
    assert f'<span class="upvotes" title="Upvotes on Hugging Face">{UPVOTES.format(87)}' in day
    assert (
        '<p class="lead-line"><strong class="tag">TL;DR</strong> Janus-Tiny splits visual '
        "encoding into two pathways" in day
    )
    arxiv = f'<a href="https://arxiv.org/abs/{JANUS}" rel="nofollow noopener">arXiv {JANUS}</a>'
    assert arxiv in day
    assert f'<a href="https://arxiv.org/pdf/{JANUS}" rel="nofollow noopener">PDF</a>' in day
    assert (
        '<a href="https://github.com/deepseek-ai/Janus" rel="nofollow noopener">Code: '
        'deepseek-ai/Janus</a> <span class="stars">★ 1523</span>' in day
    )
    assert '<a href="https://janus-tiny.github.io/" rel="nofollow noopener">Project page</a>' in day
    janus = site(rich, f"papers/{JANUS}.html")
    everyone = "Chengyue Wu, Xiaokang Chen, Zhiyu Wu, Yiyang Ma, Xingchao Liu, Zizheng Pan"
    assert f"{everyone}</span>" in janus
    assert "Keywords: decoupled visual encoding, unified multimodal model" in janus
    assert "Submitted by akhaliq · 4 comments on Hugging Face" in janus
    no_code = site(rich, "papers/2401.10220.html")  # a paper without GitHub or project page
    assert "Code:" not in no_code and "Project page" not in no_code and "TL;DR" not in no_code
    text_only = site(rich, "papers/b8816328e490.html")  # known by title: searches, not links
    assert "Search arXiv</a>" in text_only and "arxiv.org/abs" not in text_only


def test_untrusted_authors_and_summaries_are_escaped(rich: Path) -> None:
    build(Project.find(rich))
    for path in (f"papers/{SPARSE}.html", "days/2024-01-17.html", "feed.xml"):
        html = site(rich, path)
        assert "<script>alert(1)</script>" not in html and "<b>2 bits</b>" not in html
    assert "Eve &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; Smith" in site(
        rich, f"papers/{SPARSE}.html"
    )


def test_unsafe_links_from_a_response_are_not_links(rich: Path) -> None:
    path = rich / "content" / "raw" / "2024-01-19.hf.json"
    repository = "https://github.com/eve-smith/sparsecode"
    path.write_text(path.read_text().replace(repository, "javascript:alert(1)"))
    build(Project.find(rich))
    assert "javascript:" not in site(rich, f"papers/{SPARSE}.html")


def quantization_day(votes: list[int | None]) -> str:
    """Return an API response of three quantization papers with these upvotes, in this order."""
    entries = [
        {
            "paper": {"id": f"2402.0000{i}", "title": f"Quantization Paper {i}",
                      "summary": "We quantize weights to 4 bits.",
                      **({} if v is None else {"upvotes": v})},
            "publishedAt": "2024-02-01T10:00:00.000Z",
        }
        for i, v in enumerate(votes, start=1)
    ]  # fmt: skip
    return json.dumps(entries)


CARD_TITLE = re.compile(r'<h3 class="paper-title"><a href="[^"]+">([^<]+)</a>')


@pytest.mark.parametrize(
    ("setting", "order"),
    [("", [2, 1, 3]), ("sort: upvotes\n", [2, 1, 3]), ("sort: source\n", [1, 2, 3])],
)
def test_a_theme_sorts_by_upvotes_unless_set_to_source(
    rich: Path, setting: str, order: list[int]
) -> None:
    (rich / "content" / "raw" / "2024-02-01.hf.json").write_text(quantization_day([5, 50, None]))
    config = rich / "content" / "digest.yaml"
    config.write_text(config.read_text() + setting)
    build(Project.find(rich))
    titles = CARD_TITLE.findall(site(rich, "days/2024-02-01.html"))
    assert titles == [f"Quantization Paper {i}" for i in order]
    home_card = re.compile(r'<h4 class="paper-title"><a href="[^"]+">([^<]+)</a>')
    home = [t for t in home_card.findall(site(rich, "index.html")) if "Quantization Paper" in t]
    assert home == titles  # the home page's top cards follow the setting too


def test_feeds_carry_the_authors(rich: Path) -> None:
    build(Project.find(rich))
    feed = site(rich, "feed.xml")
    assert "<author><name>Chengyue Wu</name></author>\n<author><name>Xiaokang Chen</name>" in feed


def test_search_indexes_authors(rich: Path) -> None:
    build(Project.find(rich))
    index = rich / "site" / "assets" / "search"
    assert '"author"' in (index / "manifest.js").read_text()
    pieces = [*index.glob("c/*.js"), *index.glob("t/*.js")]  # chunks and tails hold the terms
    terms = " ".join(p.read_text() for p in pieces)
    assert "chengyu" in terms  # "Chengyue", stemmed as lunr does, is a term of the index
    assert "lovelac" not in terms  # nobody of that name wrote these papers


def test_the_email_shows_upvotes_and_the_tldr(rich: Path, cli: Cli) -> None:
    assert cli("ingest", cwd=rich).code == 0
    text, html = rich_email(rich, cli)
    assert "87 upvotes" in text and "TL;DR: Janus-Tiny splits visual encoding" in text
    assert re.search(r'<span class="votes"[^>]*>▲ 87</span>', html)
    config = rich / "content" / "digest.yaml"
    config.write_text(config.read_text() + "email:\n  min_upvotes: 20\n")
    text, _ = rich_email(rich, cli)
    assert "Neural Fields That Forget Gracefully" not in text  # 12 upvotes
    assert "Janus-Tiny" in text and "1 more on the site" in text


def test_a_paper_without_metadata_comes_back_from_the_cache_with_the_shared_empty_one() -> None:
    """Cached pages keep ``meta is NO_META`` true, the cheap test cards and pages rely on."""
    paper = Paper("0123456789ab", "A title", "An abstract.")
    assert pickle.loads(pickle.dumps(paper, protocol=5)).meta is NO_META
    rich = Meta(upvotes=3, authors=("Ada Lovelace",))
    assert pickle.loads(pickle.dumps(rich)) == rich
