"""Clear errors instead of tracebacks or silence; the exit codes and messages the README gives."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.build.run import build
from digest.project import Project
from digest.serve.preview import Preview
from tests.conftest import SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--date", "2024-13-01"],
        ["parse", "x.txt", "--date", "yesterday"],
        ["build", "--base-url", "ftp://x"],
        ["build", "--base-url", "https://"],  # no host: links would read https:/sitemap.xml
        ["email", "2024-99-99"],
        ["email", "--base-url", "ftp://x"],
        ["email", "--smtp-port", "0"],
        ["email", "--to", "not an address"],
        ["serve", "--port", "70000"],
        ["build", "--out", "content/digest.yaml"],
    ],
)
def test_command_line_mistakes_exit_2_with_one_line(cli: Cli, tiny: Path, args: list[str]) -> None:
    result = cli(*args, cwd=tiny)
    assert result.code == 2, result.err
    assert result.err.startswith("digest: error: argument ") and result.err.count("\n") == 1
    assert not (tiny / "site").exists() and not (tiny / "content" / "digests").exists()


def test_bare_digest_prints_help(cli: Cli, tmp_path: Path) -> None:
    result = cli(cwd=tmp_path)
    assert result.code == 0 and result.err == ""
    assert result.out.startswith("usage: digest") and "build" in result.out


@pytest.mark.parametrize("command", ["parse", "ingest", "build", "email", "serve", "init"])
def test_every_command_describes_itself_in_its_help(
    command: str, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli(command, "--help", cwd=tmp_path)
    usage, description = capsys.readouterr().out.split("\n\n")[:2]
    assert usage.startswith(f"usage: digest {command}")
    assert description[0].isupper() and description.endswith(".") and len(description) > 20


def test_init_in_an_existing_repository(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "README.md").write_text("my notes\n")
    (repo / ".gitignore").write_text("*.pyc\n/site/\n")
    result = cli("init", ".", cwd=repo)
    assert result.code == 0, result.err
    assert (repo / "content" / "digest.yaml").is_file() and (repo / "README.md").exists()
    ignored = (repo / ".gitignore").read_text().splitlines()
    assert ignored[:2] == ["*.pyc", "/site/"] and "/.digest-cache/" in ignored
    assert ignored.count("/site/") == 1
    again = cli("init", ".", cwd=repo)
    assert again.code == 1 and "already a digest project" in again.err


def test_init_refuses_to_overwrite_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "p" / "content").mkdir(parents=True)
    (tmp_path / "p" / "content" / "themes.yaml").write_text("mine")
    result = cli("init", "p", cwd=tmp_path)
    assert result.code == 1 and "themes.yaml exists; digest init would overwrite it" in result.err
    assert (tmp_path / "p" / "content" / "themes.yaml").read_text() == "mine"


def test_commands_find_the_project_from_a_sub_folder(cli: Cli, tiny: Path) -> None:
    result = cli("build", cwd=tiny / "content" / "raw")
    assert result.code == 0, result.err
    assert (tiny / "site" / "index.html").is_file()
    listed = cli("themes", "list", cwd=tiny / "content")
    assert listed.code == 0 and "quantization" in listed.out


def test_counts_are_in_the_right_number(cli: Cli, project: Path) -> None:
    (project / "content" / "raw" / "a.txt").write_text("Apr 24\n\nA Paper\n\nAbout it.\n")
    ingested = cli("ingest", cwd=project)
    assert ingested.out.splitlines() == [
        "content/digests/2024-04-24.md: 1 new paper, written",
        "1 digest page: 1 written, 0 unchanged",
    ]
    (project / "content" / "raw" / "a.txt").unlink()
    assert cli("build", cwd=project).code == 0
    (project / "content" / "digest.yaml").write_text(
        (project / "content" / "digest.yaml").read_text().replace("title: Research", "title: R")
    )
    built = cli("build", cwd=project)
    assert " 1 file written, " in built.out or " files written, " in built.out
    assert " 1 files " not in built.out


def test_build_prints_what_it_ingested_before_rendering(project: Path) -> None:
    """Ingest's lines came after the progress bar, which appeared after seconds of silence."""
    (project / "content" / "raw" / "001.txt").write_bytes(SAMPLE_FILES["001"].read_bytes())
    events: list[str] = []
    build(
        Project.find(project),
        say=lambda line: events.append(f"say {line}"),
        progress=lambda done, total: events.append(f"progress {done}/{total}"),
    )
    assert events[0] == "say ingesting 1 new raw dump..."
    assert events[1].startswith("say ingested ") and events[1].endswith(": 67 new papers")
    assert events[2].startswith("progress 0/")
    assert events[-1].split()[1].split("/")[0] == events[-1].split("/")[1]


def test_an_undated_page_hint_fits_build_too(cli: Cli, project: Path) -> None:
    (project / "content" / "raw" / "page.txt").write_text("A Paper\n\nAbout it.\n")
    result = cli("build", cwd=project)
    assert result.code == 1
    assert "start the file name with its date (2024-04-24-page.txt)" in result.err
    assert "`digest ingest FILE --date YYYY-MM-DD`" in result.err


def test_a_page_date_without_a_year_says_which_year_once(cli: Cli, project: Path) -> None:
    settings = project / "content" / "digest.yaml"
    settings.write_text(settings.read_text().replace("default_year: 2024", ""))
    for name in ("001", "002", "003"):
        (project / "content" / "raw" / f"{name}.txt").write_bytes(SAMPLE_FILES[name].read_bytes())
    result = cli("ingest", cwd=project)
    assert result.code == 0, result.err
    notes = [line for line in result.err.splitlines() if "without a year" in line]
    assert len(notes) == 1
    assert notes[0].startswith("digest: note: page dates without a year (like 'Apr 24') are ")
    assert "set default_year in content/digest.yaml or pass --year" in notes[0]
    quiet = cli("ingest", SAMPLE_FILES["001"], "--year", "2024", cwd=project)
    assert "without a year" not in quiet.err


def test_no_sitemap_without_base_url_and_an_absolute_one_with_it(cli: Cli, tiny: Path) -> None:
    assert cli("build", cwd=tiny).code == 0
    assert not (tiny / "site" / "sitemap.xml").exists()
    assert "Sitemap" not in (tiny / "site" / "robots.txt").read_text()
    assert cli("build", "--base-url", "https://digest.example.org/", cwd=tiny).code == 0
    sitemap = (tiny / "site" / "sitemap.xml").read_text()
    assert "<loc>https://digest.example.org/sitemaps/pages.xml</loc>" in sitemap
    assert cli("build", cwd=tiny).code == 0  # and gone again, with its files
    assert not (tiny / "site" / "sitemap.xml").exists()
    assert not (tiny / "site" / "sitemaps").exists()


@pytest.fixture
def preview(tiny: Path) -> Iterator[Preview]:
    with Preview(tiny, port=0, say=lambda _: None, warn=lambda _: None) as running:
        yield running


@pytest.mark.browser
def test_no_page_asks_for_a_missing_favicon(browser: Any, preview: Preview) -> None:
    missing: list[str] = []
    page = browser.new_page()
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    for path in ("", "days/2024-01-15.html", "themes/inr.html", "search.html"):
        page.goto(preview.url + path)
        page.wait_for_load_state("load")
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    page.close()
    assert missing == []
    assert icon.endswith("/assets/favicon.svg")


def test_an_unknown_theme_on_a_themes_line_is_reported_with_file_and_line(
    cli: Cli, tiny: Path
) -> None:
    assert cli("build", cwd=tiny).code == 0
    page = tiny / "content" / "digests" / "2024-01-15.md"
    lines = page.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("- themes: "))
    lines[at] += ", quantisation"
    page.write_text("\n".join(lines))
    result = cli("build", cwd=tiny)
    assert result.code == 0, result.err
    assert result.err.startswith(
        f"digest: warning: {page}:{at + 1}: unknown theme 'quantisation' on a themes: line"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("name: Quantization", 'name: "Quanti\\nzation"', "theme name must be one line"),
        ("slug: quantization", f"slug: {'q' * 300}", "at most 64 characters"),
    ],
)
def test_theme_names_and_slugs_that_would_break_pages_are_refused(
    cli: Cli, tiny: Path, old: str, new: str, message: str
) -> None:
    themes = tiny / "content" / "themes.yaml"
    text = themes.read_text()
    assert old in text
    themes.write_text(text.replace(old, new, 1))
    line = text[: text.index(old)].count("\n") + 1
    result = cli("build", cwd=tiny)
    assert result.code == 1
    assert result.err.startswith(f"digest: error: {themes}:{line}: ") and message in result.err
    assert not (tiny / "content" / "digests").exists()


def test_a_long_hand_made_slug_in_a_page_is_an_error_not_a_traceback(
    cli: Cli, tiny: Path
) -> None:
    assert cli("build", cwd=tiny).code == 0
    page = tiny / "content" / "digests" / "2024-01-15.md"
    text = page.read_text()
    heading = next(line for line in text.split("\n") if line.startswith("## "))
    page.write_text(text.replace(heading, f"## Mine {{#{'m' * 300}}}", 1))
    result = cli("build", cwd=tiny)
    assert result.code == 1 and "a theme slug is at most 64 characters" in result.err
    assert "Traceback" not in result.err


def test_a_refusal_of_the_system_is_one_line(tiny: Path) -> None:
    out = tiny / ("x" * 300)
    done = subprocess.run(
        [sys.executable, "-m", "digest", "build", "--out", str(out)],
        cwd=tiny, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("digest: error: ") and "name too long" in done.stderr
    assert done.stderr.count("\n") == 1
    shutil.rmtree(tiny / "site", ignore_errors=True)


def test_a_slug_used_twice_and_bad_labels_json_name_their_line(cli: Cli, tiny: Path) -> None:
    themes = tiny / "content" / "themes.yaml"
    text = themes.read_text()
    themes.write_text(text.replace("slug: inr", "slug: quantization", 1))
    line = text[: text.index("slug: inr")].count("\n") + 1
    result = cli("themes", "list", cwd=tiny)
    twice = "theme slug 'quantization' is used twice"
    assert result.err == f"digest: error: {themes}:{line}: {twice}\n"
    labels = tiny / "labels.json"
    labels.write_text('[\n  {"title": "x",\n   "themes": [}\n]\n')
    themes.write_text(text)
    result = cli("themes", "eval", labels, cwd=tiny)
    assert result.err.startswith(f"digest: error: {labels}:3: not a JSON labels file: ")
