"""The command line through its real entry points, and the README that documents it."""

from __future__ import annotations

import json
import pstats
import subprocess
import sys
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.cli import command_paths
from digest.cli.parser import build_parser
from digest.fsutil import leave_for_exit
from tests.conftest import REPO, SAMPLE_FILES, CliResult

Cli = Callable[..., CliResult]


def test_parse_json_prints_one_object_per_entry(cli: Cli, project: Path) -> None:
    result = cli("parse", SAMPLE_FILES["001"], "--year", "2024", "--json", cwd=project)
    assert result.code == 0, result.err
    entries = json.loads(result.out)
    assert len(entries) == 67
    first = entries[0]
    assert {"id", "title", "abstract", "date", "themes"} <= set(first)
    assert first["date"] == "2024-04-24"
    assert first["title"].startswith("BridgeTower")
    assert isinstance(first["themes"], list)


def test_parse_json_keeps_file_order_across_files(cli: Cli, project: Path) -> None:
    result = cli("parse", SAMPLE_FILES["002"], SAMPLE_FILES["001"], "--json", cwd=project)
    entries = json.loads(result.out)
    assert [e["date"] for e in (entries[0], entries[-1])] == ["2024-03-17", "2024-04-24"]
    assert len(entries) == 66 + 67


def test_parse_date_option_overrides_page_date(cli: Cli, project: Path) -> None:
    result = cli("parse", SAMPLE_FILES["001"], "--date", "2020-02-29", "--json", cwd=project)
    assert {e["date"] for e in json.loads(result.out)} == {"2020-02-29"}


def test_parse_outside_a_project_uses_default_themes(cli: Cli, tmp_path: Path) -> None:
    result = cli("parse", SAMPLE_FILES["000"], "--json", cwd=tmp_path)
    janus = json.loads(result.out)[0]
    assert "decoupling" in janus["themes"]


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help_and_is_in_the_readme(
    path: tuple[str, ...], cli: Cli, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli(*path, "--help", cwd=tmp_path)
    assert exit_info.value.code == 0
    readme = (REPO / "README.md").read_text()
    assert f"digest {' '.join(path)}" in readme


def test_a_build_through_the_console_script_is_whole_when_it_exits(tiny: Path) -> None:
    """The script ends a command with ``os._exit`` and never frees the build's data: the
    site, its stamp and the summary must all be there all the same, and a rebuild a no-op."""
    command = [sys.executable, "-m", "digest", "-C", str(tiny), "build"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "files written" in done.stderr or "files written" in done.stdout
    assert (tiny / "site" / "index.html").is_file()
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0 and "0 files written" in again.stderr + again.stdout


def test_a_build_under_a_profiler_exits_normally_so_the_profile_is_written(
    tiny: Path, tmp_path: Path
) -> None:
    """``python -m cProfile -o F -m digest build`` wrote an empty F: the script's ``os._exit``
    ended the process before the profiler's report (coverage and pyinstrument alike)."""
    profile = tmp_path / "build.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "digest"]
    done = subprocess.run([*command, "-C", str(tiny), "build"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tiny / "site" / "index.html").is_file()
    stats = pstats.Stats(str(profile))
    functions = {name for _, _, name in stats.stats}  # type: ignore[attr-defined]
    assert "build_site" in functions, "the build ran under the profiler and is in its report"


def test_only_a_command_that_ends_the_process_leaves_its_data_for_the_exit() -> None:
    """Left for the exit means never freed: only after ``end_without_freeing`` (which the
    console script calls for every command but the long-running preview server)."""

    class Data:
        pass

    data = Data()
    gone = weakref.ref(data)
    leave_for_exit(data)
    del data
    assert gone() is None, "a process that does not end with os._exit must free it"
    script = (
        "import weakref\n"
        "from digest.fsutil import end_without_freeing, leave_for_exit\n"
        "class Data: pass\n"
        "end_without_freeing(); data = Data(); kept = weakref.ref(data)\n"
        "leave_for_exit(data); del data; print(kept() is not None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout == "True\n", done.stderr
    parser = build_parser()
    assert parser.parse_args(["serve"]).resident
    assert not any(parser.parse_args([c]).resident for c in ("build", "email", "ingest"))


def test_usage_mistakes_exit_2_with_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("parse", cwd=tmp_path)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "digest: error:" in result.err


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    """The installed `digest` script and `python -m digest` are the same entry point."""
    missing = tmp_path / "missing.txt"
    for command in (
        [str(Path(sys.executable).parent / "digest")],
        [sys.executable, "-m", "digest"],
    ):
        done = subprocess.run(
            [*command, "parse", str(missing)], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 1
        expected = "file not found; expected a Daily Papers page dump (.txt)"
        assert done.stderr == f"digest: error: {missing}: {expected}\n"
        # It exits without tearing the interpreter down: all output must still arrive.
        done = subprocess.run(
            [*command, "parse", str(SAMPLE_FILES["001"])], capture_output=True, text=True
        )
        assert done.returncode == 0 and done.stderr == "67 entries\n"
        assert len(done.stdout.splitlines()) == 67
