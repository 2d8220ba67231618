"""One short function per ``digest`` command: wire the settings to one call, print the result.

Each command imports the stages it calls itself: a no-op ``digest build`` answers in a tenth
of a second, and importing the matcher, the renderer and the evaluator for it took longer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from digest.build.run import build, terminal_progress
from digest.dates import now
from digest.errors import DigestError
from digest.model import Theme
from digest.project import Project, cron_line, default_themes, init_project, write_automation
from digest.text import plural

if TYPE_CHECKING:
    from digest.ingest.evaluate import Labelled
    from digest.ingest.fetch import FetchedDay

log = logging.getLogger(__name__)


class UsageError(DigestError):
    """A command-line mistake: exit status 2, like argparse's own errors."""


def _date_option(args: argparse.Namespace) -> dt.date | None:
    return args.date  # type: ignore[no-any-return]


def _year_option(args: argparse.Namespace) -> int | None:
    year = getattr(args, "year", None)
    if year is not None and not 1 <= year <= 9999:
        raise UsageError(f"--year must be a year like 2024, got {year}")
    return int(year) if year is not None else None


def _project_or_none(root: Path) -> Project | None:
    try:
        return Project.find(root)
    except DigestError:
        return None


def _themes_and_year(args: argparse.Namespace) -> tuple[tuple[Theme, ...], int | None]:
    """Use the project's themes and year if there is a project, else the packaged defaults."""
    from digest.ingest.themes import load_themes

    project = _project_or_none(args.project)
    if project is None:
        return load_themes(default_themes()), _year_option(args)
    return project.themes, _year_option(args) or project.config.default_year


def run_parse(args: argparse.Namespace) -> int:
    """Print the entries of raw dumps, as JSON or one line each."""
    from digest.ingest.identity import resolve_ids
    from digest.ingest.merge import entry_record
    from digest.ingest.parse import parse_file

    themes, year = _themes_and_year(args)
    date = _date_option(args)
    parsed = (e for path in args.files for e in parse_file(path, date=date, year=year))
    entries = resolve_ids(parsed, {})
    records = [entry_record(e, themes) for e in entries]
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    for record in records:
        themes_shown = ",".join(record["themes"]) or "-"  # type: ignore[arg-type]
        print(f"{record['date']}  {record['id']}  {themes_shown:<30}  {record['title']}")
    print(f"{len(entries)} entries", file=sys.stderr)
    return 0


def run_ingest(args: argparse.Namespace) -> int:
    """Merge raw dumps into the project's dated Markdown digests."""
    from digest.ingest.run import ingest

    project = Project.find(args.project)
    files = args.files or project.raw_dumps()
    if not files:
        raise DigestError(f"no raw dumps to ingest: {project.raw_dir} has no .txt or .json files")
    year = _year_option(args) or project.config.default_year
    with project.writing("ingest"):
        reports = ingest(
            project.digests_dir, files, project.themes, year=year, date=_date_option(args),
            cache_dir=project.cache_dir,
        )  # fmt: skip
    for report in reports:
        state = "written" if report.written else "unchanged"
        print(f"{_relative(report.path)}: {plural(report.added, 'new paper')}, {state}")
    written = sum(r.written for r in reports)
    total = len(reports)
    print(f"{plural(total, 'digest page')}: {written} written, {total - written} unchanged")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch the days the project lacks, save them under content/raw and ingest them."""
    from digest.ingest.fetch import days_to_fetch, fetch_and_ingest, fetch_settings

    project = Project.find(args.project)
    days = days_to_fetch(project.raw_dir, date=args.date, since=args.since, now=now())
    if not days:
        print("nothing to fetch: every day asked for is saved in content/raw")
        return 0
    with project.writing("fetch"):
        report = fetch_and_ingest(
            project.digests_dir, project.raw_dir, days,
            fetch_settings(project.config.fetch, args.endpoint),
            ingest_options={"themes": project.themes, "year": project.config.year(),
                            "cache_dir": project.cache_dir},
            now=now, done=_say_fetched,
        )  # fmt: skip
    for page in report.pages:
        state = "written" if page.written else "unchanged"
        print(f"{_relative(page.path)}: {page.added} new papers, {state}")
    print(f"fetched {len(report.fetched)} of {len(days)} days in {report.seconds:.2f} s")
    if report.error:
        raise report.error
    return 0


def _say_fetched(day: FetchedDay) -> None:
    print(f"{day.date}: {day.papers or 'no'} papers, saved {_relative(day.path)}")


def run_build(args: argparse.Namespace) -> int:
    """Build the site and print one summary line; with --fetch, fetch the missing days first.

    ``--fetch`` is the daily job in one process: the build ingests what was saved, so the
    archive is read once (``digest fetch`` then ``digest build`` read it twice).
    """
    if args.endpoint and not args.fetch:
        raise UsageError("--endpoint goes with --fetch")
    project = Project.find(args.project)
    fetch_error = _save_missing_days(project, args.endpoint) if args.fetch else None
    progress = terminal_progress if sys.stderr.isatty() else None
    report = build(
        project, out=args.out, base_url=args.base_url, clean=args.clean, progress=progress,
        say=lambda line: print(_relative_line(line), flush=True),
    )  # fmt: skip
    if progress and report.written:
        sys.stderr.write("\n")
    if report.moves.papers:
        print(report.moves.summary())
    print(report.summary())
    if fetch_error is not None:  # the days saved before it are built; the job still fails
        raise fetch_error
    return 0


def _save_missing_days(project: Project, endpoint: str | None) -> DigestError | None:
    """Fetch and save the days ``digest fetch`` would (no ingest: the build does it)."""
    from digest.ingest.fetch import days_to_fetch, fetch_settings, save_days

    days = days_to_fetch(project.raw_dir, date=None, since=None, now=now())
    if not days:
        print("nothing to fetch: every day asked for is saved in content/raw")
        return None
    with project.writing("fetch"):
        fetched, error = save_days(
            project.raw_dir, days, fetch_settings(project.config.fetch, endpoint), now=now,
            done=_say_fetched,
        )  # fmt: skip
    print(f"fetched {len(fetched)} of {len(days)} days")
    return error


def run_init(args: argparse.Namespace) -> int:
    """Create a new project (unless only its daily job is asked for), then say what to do next."""
    automation = args.workflow or args.cron
    if not (automation and _project_or_none(args.dir)):
        for path in init_project(args.dir):
            print(f"created {path}")
        print(f"next: put raw page dumps in {args.dir / 'content' / 'raw'} and run `digest build`")
    written = write_automation(
        args.dir, workflow=args.workflow, cron=args.cron, python=sys.executable
    )
    for file in written:
        note = " (a different file is there: kept as it is)" if file.state == "kept" else ""
        print(f"{file.state} {file.path}{note}")
    if args.cron:
        print(f"add to your crontab (crontab -e): {cron_line(args.dir)}")
    return 0


def run_email(args: argparse.Namespace) -> int:
    """Write and/or send one day's email; the message goes to stdout unless --out or --send."""
    from digest.mail.command import EmailOptions, email_digest

    options = EmailOptions(
        date=args.date, out=args.out, send=args.send, to=tuple(args.to), sender=args.sender,
        smtp_host=args.smtp_host, smtp_port=args.smtp_port, force=args.force,
        base_url=args.base_url,
    )  # fmt: skip
    report = email_digest(Project.find(args.project), options)
    if report.stdout is not None:
        sys.stdout.flush()
        sys.stdout.buffer.write(report.stdout)
        sys.stdout.buffer.flush()
    for line in report.lines:
        print(line, file=sys.stderr if report.stdout is not None else sys.stdout)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Serve the project until Ctrl-C; rebuild and reload open pages on every change."""
    from digest.serve.preview import Preview, stop_on_sigterm

    preview = Preview(args.project, host=args.host, port=args.port, poll=args.poll)
    try:
        with stop_on_sigterm():
            preview.start()
            print(f"serving {preview.url} (Ctrl-C to stop)", flush=True)
            preview.wait()
    except KeyboardInterrupt:
        print("digest: stopped", file=sys.stderr)
    finally:
        preview.stop()
    return 0


def run_themes_list(args: argparse.Namespace) -> int:
    """List the configured themes."""
    themes, _ = _themes_and_year(args)
    for theme in themes:
        print(f"{theme.slug:<20} {theme.name}  ({len(theme.rules)} rules)")
    return 0


def run_themes_eval(args: argparse.Namespace) -> int:
    """Print precision, recall and F1 of each theme, on all labels or per tuning/validation side."""
    from digest.ingest import evaluate

    if args.as_written and not (args.split or args.folds):
        raise UsageError("--as-written goes with --split or --folds")
    if args.misses and args.folds:
        raise UsageError("--misses goes with --split (the tuning side's) or with no split")
    themes, _ = _themes_and_year(args)
    lines = evaluate.report(
        themes, _labels(args), tune_sources=_sources(args.split) if args.split else None,
        all_folds=args.folds, refit=not args.as_written, show_misses=args.misses,
    )  # fmt: skip
    print("\n".join(lines))
    return 0


def run_themes_try(args: argparse.Namespace) -> int:
    """Show each theme's score, threshold, hits and verdict for one title and abstract."""
    from digest.ingest.classify import describe, score_themes

    themes, _ = _themes_and_year(args)
    abstract = args.abstract
    if args.abstract_file is not None:
        if abstract:
            raise UsageError("give the abstract as an argument or with --abstract-file, not both")
        abstract = _read_text(args.abstract_file)
    for scored in score_themes(themes, args.title, " ".join(abstract.split())):
        print("\n".join(describe(scored)))
    return 0


def run_themes_fit(args: argparse.Namespace) -> int:
    """Fit place weights and thresholds to labelled papers and print them for themes.yaml."""
    from digest.ingest import evaluate

    themes, _ = _themes_and_year(args)
    labelled = _labels(args)
    print(f"# fitted to {len(labelled)} labelled papers; put these numbers in themes.yaml")
    print(evaluate.fit_yaml(themes, labelled))
    return 0


def _sources(text: str) -> list[str]:
    sources = [part.strip() for part in text.split(",") if part.strip()]
    if not sources:
        raise UsageError("--split needs source names, e.g. --split 000,003")
    return sources


def _labels(args: argparse.Namespace) -> list[Labelled]:
    """Read the labels given, else the shipped ones (which carry their abstracts)."""
    from digest.ingest.evaluate import LABELS, known_abstracts, load_labels

    if args.labels is None and not args.dumps:
        return load_labels(LABELS, {})
    project = _project_or_none(args.project)
    dumps = list(args.dumps) or (project.raw_dumps() if project else [])
    digests = project.digests_dir if project and not args.dumps else None
    return load_labels(args.labels or LABELS, known_abstracts(dumps, digests))


def _read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DigestError(f"cannot read the abstract: {exc.strerror}", path) from None


def _relative_line(line: str) -> str:
    """Show the paths in a line of the build relative to the current folder."""
    return line.replace(f"{Path.cwd()}/", "")


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
