"""Every ``digest`` command and option, declared once; the README lists them all."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digest import __version__
from digest.cli import commands as run
from digest.cli.commands import UsageError
from digest.cli.terminal import address_arg, base_url_arg, date_arg, day_arg, folder_arg, port_arg


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """Report a usage mistake without a traceback (argparse would exit itself)."""
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser; every command has help, and the README lists them all."""
    parser = _Parser(
        prog="digest",
        description="Turn daily research-paper feeds into dated, themed, searchable digests.",
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    parser.add_argument(
        "-C",
        "--project",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the digest project to work on (default: the current directory)",
    )
    parser.set_defaults(resident=False)  # True: the command runs until stopped (serve)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    parse = _command(commands, "parse", "print the papers found in raw page dumps")
    _add_dump_options(parse, files_required=True)
    parse.add_argument("--json", action="store_true", help="print a JSON list of entries")
    parse.set_defaults(run=run.run_parse)

    ingest_cmd = _command(
        commands, "ingest", "add papers from raw page dumps to the dated Markdown digests"
    )
    _add_dump_options(ingest_cmd, files_required=False)
    ingest_cmd.set_defaults(run=run.run_ingest)

    fetch_cmd = _command(
        commands, "fetch", "get missing days from Hugging Face's daily papers API, save, ingest"
    )
    when = fetch_cmd.add_mutually_exclusive_group()
    when.add_argument(
        "--date", type=date_arg, help="fetch this day (YYYY-MM-DD) unless it is saved already"
    )
    when.add_argument(
        "--since",
        type=date_arg,
        help="fetch every day from this one (YYYY-MM-DD) to today that is not saved",
    )
    fetch_cmd.add_argument(
        "--endpoint",
        metavar="URL",
        help="API endpoint (default: $HF_ENDPOINT, else fetch.endpoint, else huggingface.co)",
    )
    fetch_cmd.set_defaults(run=run.run_fetch)

    themes = _command(commands, "themes", "inspect and measure the theme rules")
    themes_commands = themes.add_subparsers(dest="themes_command", metavar="ACTION")
    themes_commands.required = True
    evaluate_cmd = _command(
        themes_commands, "eval", "precision, recall and F1 per theme against labelled papers"
    )
    evaluate_cmd.add_argument(
        "labels",
        type=Path,
        nargs="?",
        metavar="LABELS.json",
        help="labelled papers (default: the shipped dev labels, with abstracts and sources)",
    )
    evaluate_cmd.add_argument(
        "--from",
        dest="dumps",
        type=Path,
        nargs="+",
        default=[],
        metavar="DUMP",
        help="raw dumps holding the labelled papers' abstracts (default: the project's)",
    )
    honest = evaluate_cmd.add_mutually_exclusive_group()
    honest.add_argument(
        "--split",
        metavar="SOURCES",
        help="tune on the papers of these sources (comma-separated name prefixes, e.g. 000,003) "
        "and validate on the rest; place weights and thresholds are refitted on the tuning side",
    )
    honest.add_argument(
        "--folds",
        action="store_true",
        help="hold out one source at a time, refitting on the others; pool the held-out figures",
    )
    evaluate_cmd.add_argument(
        "--as-written",
        action="store_true",
        help="with --split or --folds: score the rules as written, without refitting",
    )
    evaluate_cmd.add_argument(
        "--misses",
        action="store_true",
        help="list each false positive and negative with its score and hits "
        "(with --split: the tuning side's only)",
    )
    evaluate_cmd.set_defaults(run=run.run_themes_eval)
    try_cmd = _command(
        themes_commands, "try", "show how a title and abstract would be classified, and why"
    )
    try_cmd.add_argument("title", metavar="TITLE")
    try_cmd.add_argument("abstract", nargs="?", default="", metavar="ABSTRACT")
    try_cmd.add_argument(
        "--abstract-file", type=Path, metavar="FILE", help="read the abstract from FILE (- = stdin)"
    )
    try_cmd.set_defaults(run=run.run_themes_try)
    fit_cmd = _command(
        themes_commands, "fit", "fit the place weights and thresholds to labelled papers (YAML)"
    )
    fit_cmd.add_argument(
        "labels", type=Path, nargs="?", metavar="LABELS.json", help="(default: the shipped labels)"
    )
    fit_cmd.add_argument(
        "--from", dest="dumps", type=Path, nargs="+", default=[], metavar="DUMP",
        help="raw dumps holding the labelled papers' abstracts (default: the project's)",
    )  # fmt: skip
    fit_cmd.set_defaults(run=run.run_themes_fit)
    list_cmd = _command(themes_commands, "list", "list the configured themes")
    list_cmd.set_defaults(run=run.run_themes_list)

    build_cmd = _command(
        commands, "build", "build the static site (ingesting new dumps in content/raw first)"
    )
    build_cmd.add_argument(
        "--out", type=folder_arg, metavar="DIR", help="output folder (default: site/)"
    )
    build_cmd.add_argument(
        "--base-url",
        type=base_url_arg,
        metavar="URL",
        help="absolute URL the site is published at (overrides config)",
    )
    build_cmd.add_argument(
        "--clean", action="store_true", help="rewrite every file and remove anything stale"
    )
    build_cmd.add_argument(
        "--fetch",
        action="store_true",
        help="first fetch the missing days as `digest fetch` does: the daily job in one process",
    )
    build_cmd.add_argument(
        "--endpoint", metavar="URL", help="with --fetch: the API endpoint (as for `digest fetch`)"
    )
    build_cmd.set_defaults(run=run.run_build)

    init_cmd = _command(
        commands, "init", "create a new digest project in DIR, and/or its daily job"
    )
    init_cmd.add_argument(
        "dir", type=Path, nargs="?", default=Path("."), metavar="DIR", help="(default: here)"
    )
    init_cmd.add_argument(
        "--workflow",
        action="store_true",
        help="write a scheduled GitHub Actions workflow: fetch, build, deploy to Pages, email",
    )
    init_cmd.add_argument(
        "--cron", action="store_true", help="write digest-daily.sh and print its crontab line"
    )
    init_cmd.set_defaults(run=run.run_init)

    email_cmd = _command(
        commands, "email", "render a day's digest as an email; write it (.eml) or send it over SMTP"
    )
    email_cmd.add_argument(
        "date",
        nargs="?",
        type=day_arg,
        metavar="DATE",
        help="the day, YYYY-MM-DD (default: the latest)",
    )
    email_cmd.add_argument(
        "--out", type=Path, metavar="FILE.eml", help="write the message here (default: stdout)"
    )
    email_cmd.add_argument("--send", action="store_true", help="deliver it over SMTP")
    email_cmd.add_argument(
        "--to",
        action="append",
        default=[],
        type=address_arg,
        metavar="ADDRESS",
        help="a recipient, instead of email.to (repeat for more)",
    )
    email_cmd.add_argument(
        "--from", dest="sender", type=address_arg, metavar="ADDRESS", help="the From address"
    )
    email_cmd.add_argument("--smtp-host", metavar="HOST", help="SMTP server (overrides config)")
    email_cmd.add_argument(
        "--smtp-port", type=port_arg(1), metavar="PORT", help="SMTP port (1-65535)"
    )
    email_cmd.add_argument(
        "--force", action="store_true", help="send even to addresses the sent log says got it"
    )
    email_cmd.add_argument(
        "--base-url",
        type=base_url_arg,
        metavar="URL",
        help="absolute URL of the site (overrides config)",
    )
    email_cmd.set_defaults(run=run.run_email)

    serve_cmd = _command(
        commands, "serve", "build, serve on localhost, rebuild on change and reload open pages"
    )
    serve_cmd.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, only this machine)",
    )
    serve_cmd.add_argument(
        "--port", type=port_arg(0), default=8000, help="port (default: 8000; 0 = any)"
    )
    serve_cmd.add_argument(
        "--poll", action="store_true", help="poll for changes (where file events are missed)"
    )
    serve_cmd.set_defaults(run=run.run_serve, resident=True)
    return parser


def command_paths(
    parser: argparse.ArgumentParser | None = None, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Return every command and sub-command path, e.g. ('themes', 'eval'): the README lists them."""
    parser = parser or build_parser()
    paths = []
    for action in parser._actions:  # argparse keeps sub-commands only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append((*prefix, name))
                paths.extend(command_paths(sub, (*prefix, name)))
    return paths


def _add_dump_options(command: argparse.ArgumentParser, *, files_required: bool) -> None:
    command.add_argument(
        "files",
        type=Path,
        nargs="+" if files_required else "*",
        metavar="FILE",
        help="raw dumps: page text, or saved API responses (.json)"
        + ("" if files_required else " (default: content/raw/*.txt and *.json)"),
    )
    command.add_argument(
        "--date",
        type=date_arg,
        help="the date of every paper in FILE (YYYY-MM-DD); overrides the page's date",
    )
    command.add_argument(
        "--year",
        type=int,
        help="year for page dates without one, like 'Apr 24' "
        "(default: default_year in content/digest.yaml, else the current year)",
    )


def _command(commands: Any, name: str, summary: str) -> argparse.ArgumentParser:
    """Add a sub-command whose --help starts with what it does (its line in `digest --help`)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + "."
    )
    return parser
