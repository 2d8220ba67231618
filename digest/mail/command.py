"""``digest email``: settle the day, sender and recipients, then write and/or send the message.

Sending goes through :mod:`digest.mail.smtp`, which also keeps the sent log; the message itself
is :mod:`digest.mail.message`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from digest.config import Config, EmailConfig, check_address
from digest.dates import parse_iso_date
from digest.errors import DigestError
from digest.fsutil import write_atomic
from digest.mail import smtp
from digest.mail.message import Rendered, Templates, addressed, message_date, render_email
from digest.pages.library import Library, LoadedDay, load_library
from digest.project import Project
from digest.urls import check_base_url


@dataclass(frozen=True)
class EmailOptions:
    """What ``digest email`` was asked to do; ``None`` means "as configured"."""

    date: str | None = None
    out: Path | None = None
    send: bool = False
    to: tuple[str, ...] = ()
    sender: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    force: bool = False
    base_url: str | None = None


@dataclass(frozen=True)
class EmailReport:
    """What the command did: status lines, and the message when it goes to standard output."""

    lines: tuple[str, ...]
    stdout: bytes | None = None


@dataclass(frozen=True)
class _Job:
    """One day's email with everything settled but the recipients and the Date."""

    library: Library
    config: Config
    day: LoadedDay
    templates: Templates
    base_url: str
    sender: str

    def render(self, recipients: tuple[str, ...], *, sending: bool) -> Rendered:
        return render_email(
            self.library, self.config, self.day, self.templates, base_url=self.base_url,
            sender=self.sender, recipients=recipients,
            date=message_date(self.day.date, sending=sending),
        )  # fmt: skip


def email_digest(
    project: Project, options: EmailOptions, delays: tuple[float, ...] | None = None
) -> EmailReport:
    """Render a day's email and write it (``--out``, else stdout) and/or send it (``--send``)."""
    config = project.config
    base_url = _base_url(options.base_url, config, project.config_path)
    sender = _sender(options.sender, config.email, project.config_path, required=options.send)
    recipients = _recipients(options.to, config.email)
    if options.send and not recipients:
        raise DigestError("no recipients: set email.to in content/digest.yaml or pass --to ADDRESS")
    server = smtp.server_settings(config.email.smtp, options.smtp_host, options.smtp_port)
    library = load_library(project.digests_dir, project.themes)
    day = pick_day(library, options.date, project.digests_dir)
    job = _Job(library, config, day, Templates(project.templates_dir), base_url, sender)
    lines: list[str] = []
    stdout: bytes | None = None
    if options.out is not None or not options.send:
        rendered = job.render(recipients, sending=False)
        data = rendered.message.as_bytes(policy=SMTP)
        if options.out is None or str(options.out) == "-":
            stdout = data.replace(b"\r\n", b"\n")
        else:
            _write(options.out, data)
            lines.append(f"wrote {options.out}: {_summary(rendered)}")
    if options.send:
        with project.writing("email --send"):  # two sends at once would both send
            lines += _send(
                job, recipients, project.root / config.email.sent_log, server, options, delays
            )
    return EmailReport(tuple(lines), stdout)


def _send(
    job: _Job,
    recipients: tuple[str, ...],
    log_path: Path,
    server: smtp.Server,
    options: EmailOptions,
    delays: tuple[float, ...] | None,
) -> list[str]:
    """Send each recipient the log has not seen get this day (all of them with --force) a
    message of their own; log each one the moment the server accepts it."""
    sent_log = smtp.SentLog(log_path)
    date = job.day.date
    if options.force:
        fresh, lines = recipients, []
    else:
        fresh = sent_log.unsent(date, recipients)
        lines = [
            _already(date, address, sent) for address, sent in sent_log.already(date, recipients)
        ]
    if fresh:
        rendered = job.render(fresh, sending=True)
        messages = [(r, addressed(rendered, r)) for r in fresh]

        def log_it(recipient: str, message: EmailMessage, status: str) -> None:
            sent_log.record(date, recipient, message, status)

        smtp.deliver_each(
            messages, server, delays=smtp.RETRY_DELAYS if delays is None else delays,
            on_sent=log_it,
        )  # fmt: skip
        lines.append(f"sent {date} to {', '.join(fresh)}: {_summary(rendered)}")
    return lines


def _already(date: dt.date, address: str, sent: smtp.Sent) -> str:
    if sent.status == smtp.POSSIBLY_SENT:
        return (
            f"{date} possibly sent to {address} at {sent.sent_at} (the server's reply was "
            "lost; --force sends again)"
        )
    return f"{date} already sent to {address} at {sent.sent_at} (--force sends again)"


def pick_day(library: Library, date: str | None, digests_dir: Path) -> LoadedDay:
    """Return the asked-for day, else the latest; a missing day names the ones there are."""
    if not library.days:
        raise DigestError(f"no digest pages in {digests_dir}; run `digest ingest` first")
    if date is None:
        return library.days[-1]
    wanted = parse_iso_date(date, "DATE")
    for day in library.days:
        if day.date == wanted:
            return day
    latest = library.days[-1].date
    raise DigestError(
        f"no digest for {wanted} in {digests_dir}; {len(library.days)} days "
        f"from {library.days[0].date} to {latest}"
    )


def _base_url(override: str | None, config: Config, path: Path) -> str:
    base_url = override if override is not None else config.base_url
    if not base_url:
        raise DigestError(
            "base_url is not set: the email links to the site, so it needs the site's address; "
            "set base_url or pass --base-url URL",
            path,
        )
    return check_base_url(base_url, "--base-url")


def _sender(override: str | None, email: EmailConfig, path: Path, *, required: bool) -> str:
    """Return the From address; only sending needs one (a preview may go without)."""
    if override is not None:
        return check_address(override, "--from")
    if not email.sender and required:
        raise DigestError("no sender: set email.from or pass --from ADDRESS", path)
    return email.sender


def _recipients(override: tuple[str, ...], email: EmailConfig) -> tuple[str, ...]:
    if override:
        return tuple(dict.fromkeys(check_address(a, "--to") for a in override))
    return email.to


def _summary(rendered: Rendered) -> str:
    subject = str(rendered.message["Subject"])
    return f"{subject!r} (HTML {rendered.html_size:,} bytes, text {rendered.text_size:,} bytes)"


def _write(path: Path, data: bytes) -> None:
    """Write the message whole or not at all."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise DigestError(f"cannot write the email: {exc.strerror}", path) from None
