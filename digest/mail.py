"""Render one day's digest as an email: one view model, a plain-text and an HTML part, headers.

The parts come from the same :class:`MailDigest` and the templates in ``templates/email/``; the
HTML part's CSS is inlined by css-inline (mail clients drop ``<style>``), keeping only the
``@media`` rules (dark mode), which cannot be inlined. Headers never carry raw untrusted text:
every value is folded to one line first, so a title cannot forge a header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import css_inline
import jinja2

from digest import smtp
from digest.errors import DigestError
from digest.load import Library, LoadedDay, load_library
from digest.parse import parse_iso_date
from digest.project import Config, EmailConfig, Project, check_address
from digest.render import long_date, make_environment, short_date, template_dirs
from digest.views import Card, Views, day_path, paper_path, theme_path

log = logging.getLogger(__name__)

HTML_LIMIT = 100_000
"""Bytes of HTML Gmail shows before clipping the message (it clips at about 102 KB)."""
CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class MailPaper:
    """A paper as the email lists it: title, permalink, the start of its abstract."""

    title: str
    url: str
    abstract: str
    shortened: bool
    first_seen: dt.date | None


@dataclass(frozen=True)
class MailCount:
    """How many papers a theme has on the day, with its short label for subject and preheader."""

    slug: str
    label: str
    count: int


@dataclass(frozen=True)
class MailGroup:
    """One theme's section: papers filed under it, titles of papers also in it, what was cut."""

    slug: str
    name: str
    label: str
    url: str
    count: int
    papers: tuple[MailPaper, ...]
    also: tuple[MailPaper, ...]
    more: int
    more_url: str


@dataclass(frozen=True)
class MailDigest:
    """Everything the email templates show; all URLs absolute."""

    site_title: str
    site_url: str
    date: dt.date
    day_url: str
    total: int
    counts: tuple[MailCount, ...]
    groups: tuple[MailGroup, ...]
    unsubscribe: tuple[str, ...]


@dataclass(frozen=True)
class Limits:
    """How much of a day fits in one email."""

    max_papers: int
    abstract_length: int


@dataclass(frozen=True)
class Rendered:
    """An email ready to write or send, with its part sizes in bytes."""

    message: EmailMessage
    mail: MailDigest
    html_size: int
    text_size: int
    limits: Limits


# --- view model ------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Fold every run of whitespace and control characters to one space."""
    return CONTROL.sub(" ", text).strip()


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """Cut text at a word boundary to at most ``limit`` characters, marking the cut with …."""
    if len(text) <= limit:
        return text, False
    if limit <= 1:
        return "", bool(text)
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:.") + "…", True


def short_label(name: str) -> str:
    """Return a theme's name for the subject: initials for long names, else lower case."""
    words = name.split()
    if len(words) >= 3:
        return "".join(w[0] for w in words).upper()
    return name.lower()


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path


def mail_view(
    library: Library, config: Config, day: LoadedDay, base_url: str, limits: Limits
) -> MailDigest:
    """Group a day's papers by theme (as its web page does), with absolute links and caps."""
    views = Views(library, config)
    summary = views.day_summary(day)
    groups = tuple(
        _group(base_url, day, g.theme.slug, g.theme.name, g.theme.count, g.cards, g.also, limits)
        for g in views.day_groups(day)
    )
    return MailDigest(
        site_title=one_line(config.title),
        site_url=absolute(base_url, ""),
        date=day.date,
        day_url=absolute(base_url, day_path(day.date)),
        total=summary.total,
        counts=tuple(MailCount(c.slug, short_label(c.name), c.count) for c in summary.counts),
        groups=groups,
        unsubscribe=config.email.list_unsubscribe,
    )


def _group(
    base_url: str,
    day: LoadedDay,
    slug: str,
    name: str,
    count: int,
    cards: tuple[Card, ...],
    also: tuple[Card, ...],
    limits: Limits,
) -> MailGroup:
    shown = cards[: limits.max_papers]
    also_shown = also[: max(0, limits.max_papers - len(shown))]
    return MailGroup(
        slug=slug,
        name=one_line(name),
        label=short_label(name),
        url=absolute(base_url, theme_path(slug)),
        count=count,
        papers=tuple(_paper(base_url, c, limits.abstract_length) for c in shown),
        also=tuple(_paper(base_url, c, 0) for c in also_shown),
        more=len(cards) + len(also) - len(shown) - len(also_shown),
        more_url=absolute(base_url, day_path(day.date)) + "#" + slug,
    )


def _paper(base_url: str, card: Card, abstract_length: int) -> MailPaper:
    abstract, shortened = shorten(one_line("".join(s.text for s in card.abstract)), abstract_length)
    return MailPaper(
        title=one_line(card.title),
        url=absolute(base_url, paper_path(card.id)),
        abstract=abstract,
        shortened=shortened or card.truncated,
        first_seen=card.first_seen if card.seen_before else None,
    )


# --- templates -------------------------------------------------------------------------------


class Templates:
    """The email templates: HTML autoescaped (the site's environment), text not escaped."""

    def __init__(self, templates_dir: Path):
        self.dirs = template_dirs(templates_dir)
        self.html = make_environment(self.dirs)
        self.text = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.dirs]),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.text.filters.update(long_date=long_date, short_date=short_date)
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)

    def render(self, html: bool, name: str, **context: Any) -> str:
        """Render one template; a mistake in it is a DigestError naming the file and line."""
        env = self.html if html else self.text
        try:
            return env.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or exc.name or name
            raise DigestError(f"template error: {exc.message}", where, exc.lineno) from None
        except jinja2.TemplateNotFound as exc:
            dirs = ", ".join(map(str, self.dirs))
            raise DigestError(f"template {exc.name!r} not found in {dirs}") from None
        except jinja2.TemplateError as exc:
            raise DigestError(f"template error: {exc}", name) from None

    def parts(self, mail: MailDigest) -> tuple[str, str, str, str]:
        """Return subject, preheader, text and inlined HTML of one email."""
        subject = one_line(self.render(False, "email/subject.txt", mail=mail))
        preheader = one_line(self.render(False, "email/preheader.txt", mail=mail))
        context = {"mail": mail, "subject": subject, "preheader": preheader}
        text = self.render(False, "email/digest.txt", **context)
        html = self.inliner.inline(self.render(True, "email/digest.html", **context))
        return subject, preheader, text, html


# --- the message -----------------------------------------------------------------------------


def fitting_limits(limits: Limits) -> Iterator[Limits]:
    """Yield ever smaller limits: shorter abstracts first, then fewer papers per theme."""
    seen: set[Limits] = set()
    candidates = [
        limits,
        replace(limits, abstract_length=limits.abstract_length // 2),
        replace(limits, max_papers=max(1, limits.max_papers // 2)),
        Limits(max(1, limits.max_papers // 2), limits.abstract_length // 4),
        Limits(max(1, limits.max_papers // 4), 0),
        Limits(1, 0),
    ]
    for candidate in candidates:
        if candidate not in seen:
            seen.add(candidate)
            yield candidate


def render_email(
    library: Library,
    config: Config,
    day: LoadedDay,
    templates: Templates,
    *,
    base_url: str,
    sender: str,
    recipients: tuple[str, ...],
    date: dt.datetime,
) -> Rendered:
    """Render a day's email, shrinking it until the HTML part fits under Gmail's clipping size."""
    email = config.email
    first = Limits(email.max_papers, email.abstract_length)
    for limits in fitting_limits(first):
        mail = mail_view(library, config, day, base_url, limits)
        subject, _, text, html = templates.parts(mail)
        size = len(html.encode("utf-8"))
        if size < HTML_LIMIT:
            if limits != first:
                log.info("shortened the email to %s to keep it under 100 KB", limits)
            identity = message_id(day.date, recipients, text, base_url)
            message = _message(email, subject, text, html, sender, recipients, date, identity)
            return Rendered(message, mail, size, len(text.encode("utf-8")), limits)
    raise DigestError(
        f"the email for {day.date} is over {HTML_LIMIT // 1000} KB of HTML even with one paper "
        "per theme and no abstracts; shorten templates/email/digest.html"
    )


def _message(
    email: EmailConfig,
    subject: str,
    text: str,
    html: str,
    sender: str,
    recipients: tuple[str, ...],
    date: dt.datetime,
    identity: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = one_line(sender)
    if recipients:
        message["To"] = ", ".join(one_line(r) for r in recipients)
    if email.reply_to:
        message["Reply-To"] = one_line(email.reply_to)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = identity
    if email.list_unsubscribe:
        message["List-Unsubscribe"] = ", ".join(f"<{u}>" for u in email.list_unsubscribe)
        if any(u.startswith(("https://", "http://")) for u in email.list_unsubscribe):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, subtype="plain", cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    message.set_boundary("=_digest_" + identity.split(".")[2].split("@")[0])
    return message


def message_id(day: dt.date, recipients: tuple[str, ...], text: str, base_url: str) -> str:
    """Return a Message-ID that is the same for the same day, list and content."""
    key = "\n".join([day.isoformat(), *sorted(recipients), text])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    host = urlsplit(base_url).hostname or "localhost"
    return f"<digest.{day:%Y%m%d}.{digest}@{host}>"


def message_date(day: dt.date, *, sending: bool) -> dt.datetime:
    """Return the Date header: SOURCE_DATE_EPOCH, else now when sending, else the digest's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    if sending:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    return dt.datetime.combine(day, dt.time(0, 0), dt.UTC)


# --- the command -----------------------------------------------------------------------------


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
    sender = _sender(options.sender, config.email, project.config_path)
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
    """Send to the recipients the sent log has not seen get this day (all of them with --force)."""
    sent_log = smtp.SentLog(log_path)
    date = job.day.date
    if options.force:
        fresh, lines = recipients, []
    else:
        fresh = sent_log.unsent(date, recipients)
        lines = [
            f"{date} already sent to {address} at {when} (--force sends again)"
            for address, when in sent_log.already(date, recipients)
        ]
    if fresh:
        rendered = job.render(fresh, sending=True)
        smtp.deliver(
            rendered.message, fresh, server, delays=smtp.RETRY_DELAYS if delays is None else delays
        )
        sent_log.record(date, fresh, rendered.message)
        lines.append(f"sent {date} to {', '.join(fresh)}: {_summary(rendered)}")
    return lines


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
    if not base_url.startswith(("http://", "https://")):
        raise DigestError(f"--base-url must start with http:// or https://, got {base_url!r}")
    return base_url


def _sender(override: str | None, email: EmailConfig, path: Path) -> str:
    if override is not None:
        return check_address(override, "--from")
    if not email.sender:
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
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DigestError(f"cannot write the email: {exc.strerror}", path) from None
