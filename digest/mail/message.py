"""One day's digest as an email: its view model, a plain-text and an HTML part, and headers.

The parts come from the same :class:`MailDigest` and the templates in ``templates/email/``; the
HTML part's CSS is inlined by css-inline (mail clients drop ``<style>``), keeping only the
``@media`` rules (dark mode), which cannot be inlined. Headers never carry raw untrusted text:
every value is folded to one line first, so a title cannot forge a header.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import css_inline

from digest import dates, urls
from digest.config import Config, EmailConfig, template_dirs
from digest.errors import DigestError
from digest.pages.library import Library, LoadedDay
from digest.site.records import Card
from digest.site.templates import make_environment, render_template
from digest.site.views import Views
from digest.text import one_line, shorten

log = logging.getLogger(__name__)

UNDISCLOSED = "undisclosed-recipients:;"
"""The To of a message meant for several readers, none of whom may see the others."""
HTML_LIMIT = 100_000
"""Bytes of HTML Gmail shows before clipping the message (it clips at about 102 KB)."""


@dataclass(frozen=True)
class MailPaper:
    """A paper as the email lists it: the site's compact card (title, authors, upvotes, one line).

    ``lead`` is the card's one line (Hugging Face's summary, else the abstract's first sentence)
    cut to ``abstract_length``; ``abstract`` is the abstract's start, cut the same way, for
    templates that show it.
    """

    title: str
    url: str
    abstract: str
    shortened: bool
    first_seen: dt.date | None
    upvotes: int | None = None
    tldr: str = ""
    lead: str = ""
    lead_is_tldr: bool = False
    authors: str = ""
    """The first few names ("A, B, C et al."), or "6 authors", or empty."""


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
    min_upvotes: int = 0
    """Papers with fewer upvotes are left out (counted in "N more on the site")."""


@dataclass(frozen=True)
class Rendered:
    """An email ready to write or send, with its part sizes in bytes."""

    message: EmailMessage
    mail: MailDigest
    html_size: int
    text_size: int
    limits: Limits


# --- view model ------------------------------------------------------------------------------


def short_label(name: str) -> str:
    """Return a theme's name for the subject: initials for long names, else lower case."""
    words = name.split()
    if len(words) >= 3:
        return "".join(w[0] for w in words).upper()
    return name.lower()


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
        site_url=urls.absolute(base_url, ""),
        date=day.date,
        day_url=urls.absolute(base_url, urls.day_path(day.date)),
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
    shown = [c for c in cards if _enough(c, limits)][: limits.max_papers]
    also_shown = [c for c in also if _enough(c, limits)][: max(0, limits.max_papers - len(shown))]
    return MailGroup(
        slug=slug,
        name=one_line(name),
        label=short_label(name),
        url=urls.absolute(base_url, urls.theme_path(slug)),
        count=count,
        papers=tuple(_paper(base_url, c, limits.abstract_length) for c in shown),
        also=tuple(_paper(base_url, c, 0) for c in also_shown),
        more=len(cards) + len(also) - len(shown) - len(also_shown),
        more_url=urls.absolute(base_url, urls.day_section(day.date, slug)),
    )


def _enough(card: Card, limits: Limits) -> bool:
    """Keep a paper with enough upvotes, or whose upvotes nobody counted."""
    return card.upvotes is None or card.upvotes >= limits.min_upvotes


def _paper(base_url: str, card: Card, abstract_length: int) -> MailPaper:
    full = one_line("".join(s.text for s in card.abstract))
    lead = one_line(card.lead)
    return MailPaper(
        title=one_line(card.title),
        url=urls.absolute(base_url, card.path),
        abstract=shorten(full, abstract_length),
        shortened=len(full) > abstract_length or card.truncated,
        first_seen=card.first_seen.date if card.seen_before else None,
        upvotes=card.upvotes,
        tldr=one_line(card.tldr),
        lead=shorten(lead, abstract_length),
        lead_is_tldr=card.lead_is_tldr,
        authors=_authors(card),
    )


def _authors(card: Card) -> str:
    """Name the first few authors as the site's cards do, or count them."""
    names = card.authors.shown
    if names:
        return one_line(", ".join(names)) + (" et al." if card.authors.et_al else "")
    count = card.authors.count
    return f"{count} author{'s' if count != 1 else ''}" if count else ""


# --- templates -------------------------------------------------------------------------------


class Templates:
    """The email templates: HTML autoescaped, text not (it would show ``&amp;`` to readers)."""

    def __init__(self, templates_dir: Path):
        dirs = template_dirs(templates_dir)
        self.html = make_environment(dirs)
        self.text = make_environment(dirs, escape=False)
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)

    def parts(self, mail: MailDigest) -> tuple[str, str, str, str]:
        """Return subject, preheader, text and inlined HTML of one email."""
        subject = one_line(render_template(self.text, "email/subject.txt", mail=mail))
        preheader = one_line(render_template(self.text, "email/preheader.txt", mail=mail))
        context = {"mail": mail, "subject": subject, "preheader": preheader}
        text = render_template(self.text, "email/digest.txt", **context)
        html = render_template(self.html, "email/digest.html", **context)
        return subject, preheader, text, self.inliner.inline(html)


# --- the message -----------------------------------------------------------------------------


def fitting_limits(limits: Limits) -> Iterator[Limits]:
    """Yield ever smaller limits: shorter abstracts first, then fewer papers per theme."""
    seen: set[Limits] = set()
    candidates = [
        limits,
        replace(limits, abstract_length=limits.abstract_length // 2),
        replace(limits, max_papers=max(1, limits.max_papers // 2)),
        Limits(max(1, limits.max_papers // 2), limits.abstract_length // 4, limits.min_upvotes),
        Limits(max(1, limits.max_papers // 4), 0, limits.min_upvotes),
        Limits(1, 0, limits.min_upvotes),
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
    first = Limits(email.max_papers, email.abstract_length, email.min_upvotes)
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
    if sender:
        message["From"] = one_line(sender)
    if len(recipients) == 1:
        message["To"] = one_line(recipients[0])
    elif recipients:  # a preview for a list: no reader may see another reader's address
        message["To"] = UNDISCLOSED
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


def addressed(rendered: Rendered, recipient: str) -> EmailMessage:
    """Return a copy of a rendered email addressed to one reader, with its own Message-ID.

    Each reader of a list gets their own message: the To header shows only them.
    """
    message = copy.deepcopy(rendered.message)
    identity = str(message["Message-ID"])
    digest = hashlib.sha256(f"{identity}\n{recipient}".encode()).hexdigest()[:20]
    local, _, host = identity.strip("<>").partition("@")  # <digest.YYYYMMDD.HEX@host>
    message.replace_header("To", one_line(recipient))
    message.replace_header("Message-ID", f"<{local.rpartition('.')[0]}.{digest}@{host}>")
    return message


def message_id(day: dt.date, recipients: tuple[str, ...], text: str, base_url: str) -> str:
    """Return a Message-ID that is the same for the same day, list and content."""
    key = "\n".join([day.isoformat(), *sorted(recipients), text])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    host = urlsplit(base_url).hostname or "localhost"
    return f"<digest.{day:%Y%m%d}.{digest}@{host}>"


def message_date(day: dt.date, *, sending: bool) -> dt.datetime:
    """Return the Date header: SOURCE_DATE_EPOCH, else now when sending, else the digest's date."""
    if sending:
        return dates.now()
    return dates.source_date() or dt.datetime.combine(day, dt.time(0, 0), dt.UTC)
