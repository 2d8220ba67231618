"""``digest fetch``: ask Hugging Face's daily-papers API for the days a project lacks.

Each day is one request (``GET {endpoint}/api/daily_papers?date=YYYY-MM-DD&limit=100``), made
with httpx: a timeout, retries with exponential backoff on 429 and 5xx answers and on timeouts
(a ``Retry-After`` wins), a User-Agent naming digest, and a one-line error when the endpoint
cannot be reached. A response is checked (:mod:`digest.ingest.hf_json`) before it is saved, so
``content/raw/`` only ever holds complete, readable responses, and the project rebuilds offline.

A saved response is the record that a day was fetched, an empty one (a weekend) included, so no
day is asked for twice; except a day saved before it was over (today's list still grows), which
is asked for again once, after it ended: a response's file time is when it was fetched.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from digest import __version__
from digest.config import FetchConfig
from digest.errors import DigestError
from digest.fsutil import write_atomic
from digest.ingest.hf_json import parse_json
from digest.ingest.run import DayReport, ingest
from digest.text import one_line

DEFAULT_ENDPOINT = "https://huggingface.co"
API_PATH = "/api/daily_papers"
LIMIT = 100
"""Papers asked for per day: more than Hugging Face lists on any day so far."""
DEFAULT_DAYS = 7
"""Days ``digest fetch`` looks back without --date or --since: today and the six before."""
USER_AGENT = f"digest/{__version__} (static research-digest generator; python-httpx)"
MAX_WAIT = 300.0
"""The longest a ``Retry-After`` is obeyed, in seconds; longer ones are an error."""
SUFFIX = ".hf.json"


@dataclass(frozen=True)
class FetchSettings:
    """Where to ask and how patiently."""

    endpoint: str = DEFAULT_ENDPOINT
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0


@dataclass(frozen=True)
class FetchedDay:
    """One day asked for: its saved response and how many papers it listed."""

    date: dt.date
    path: Path
    papers: int


def response_path(raw_dir: Path, date: dt.date, *, partial: bool = False) -> Path:
    """Return where the response of ``date`` is saved (its name starts with the date).

    A response fetched before the day ended (UTC) may still grow: it is saved as
    ``DATE.partial.hf.json`` until a later fetch replaces it with the whole day. The name
    says it, not the file's time, which a git checkout (the daily workflow's) resets.
    """
    return raw_dir / f"{date.isoformat()}{'.partial' if partial else ''}{SUFFIX}"


def fetch_settings(config: FetchConfig, endpoint: str | None = None) -> FetchSettings:
    """Return the project's fetch settings, with the endpoint chosen by :func:`endpoint_from`."""
    return FetchSettings(
        endpoint_from(endpoint, config.endpoint), config.timeout, config.retries, config.backoff
    )


def endpoint_from(option: str | None, configured: str) -> str:
    """Pick the endpoint: --endpoint, else HF_ENDPOINT, else the settings', else Hugging Face."""
    chosen = option or os.environ.get("HF_ENDPOINT") or configured or DEFAULT_ENDPOINT
    if not chosen.startswith(("http://", "https://")):
        raise DigestError(f"the endpoint must start with http:// or https://, got {chosen!r}")
    return chosen.rstrip("/")


def days_to_fetch(
    raw_dir: Path, *, date: dt.date | None, since: dt.date | None, now: dt.datetime
) -> list[dt.date]:
    """Return the days to ask for: the ones asked for, less those whose response is saved."""
    today = now.astimezone(dt.UTC).date()
    if since is not None and since > today:
        raise DigestError(f"--since {since} is after today ({today}, UTC)")
    if date is not None:
        wanted = [date]
    else:
        first = since or today - dt.timedelta(days=DEFAULT_DAYS - 1)
        wanted = [first + dt.timedelta(days=n) for n in range((today - first).days + 1)]
    return [day for day in wanted if not response_path(raw_dir, day).is_file()]


def day_over(date: dt.date, now: dt.datetime) -> bool:
    """Tell whether Hugging Face's list for ``date`` is final: the day is over in UTC."""
    return now >= dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC)


@dataclass(frozen=True)
class FetchReport:
    """What ``digest fetch`` did: the days saved, the pages ingest touched, and any error."""

    fetched: tuple[FetchedDay, ...]
    pages: tuple[DayReport, ...]
    seconds: float
    error: DigestError | None = None


def fetch_and_ingest(
    digests_dir: Path,
    raw_dir: Path,
    days: Sequence[dt.date],
    settings: FetchSettings,
    *,
    ingest_options: dict[str, Any],
    now: Callable[[], dt.datetime],
    done: Callable[[FetchedDay], None] = lambda day: None,
) -> FetchReport:
    """Fetch ``days`` and ingest what was saved, also when a later day failed (then reported)."""
    started = time.perf_counter()
    fetched, error = save_days(raw_dir, days, settings, now=now, done=done)
    saved = [day.path for day in fetched]
    pages = ingest(digests_dir, saved, **ingest_options) if saved else ()
    return FetchReport(tuple(fetched), pages, time.perf_counter() - started, error)


def save_days(
    raw_dir: Path,
    days: Sequence[dt.date],
    settings: FetchSettings,
    *,
    now: Callable[[], dt.datetime],
    done: Callable[[FetchedDay], None] = lambda day: None,
) -> tuple[list[FetchedDay], DigestError | None]:
    """Fetch and save ``days``; return those saved and the error that stopped the rest, if
    any: what was saved is to be ingested whether or not a later day failed."""
    try:
        return fetch_days(raw_dir, days, settings, now=now, done=done), None
    except FetchError as exc:
        return list(exc.fetched), exc


def fetch_days(
    raw_dir: Path,
    days: Sequence[dt.date],
    settings: FetchSettings,
    *,
    now: Callable[[], dt.datetime],
    done: Callable[[FetchedDay], None] = lambda day: None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[FetchedDay]:
    """Ask for each day in turn and save its response; stop at the first day that fails.

    Days saved before a failure stay saved (each is a whole response) and travel with the
    :class:`FetchError`, so the caller can ingest them and then report the error.
    """
    fetched: list[FetchedDay] = []
    with Api(settings, sleep) as api:
        for day in days:
            try:
                fetched.append(_fetch_day(api, raw_dir, day, now))
            except DigestError as exc:
                raise FetchError(exc.message, fetched) from None
            done(fetched[-1])
    return fetched


def _fetch_day(api: Api, raw_dir: Path, day: dt.date, now: Callable[[], dt.datetime]) -> FetchedDay:
    """Save the day's response: whole once the day is over, else as a partial one."""
    body = api.daily(day)
    final = day_over(day, now())
    path = response_path(raw_dir, day, partial=not final)
    try:
        papers = len(parse_json(body.decode("utf-8"), path))
    except (DigestError, UnicodeDecodeError) as exc:
        raise DigestError(
            f"the answer for {day} is not a list of daily papers ({_reason(exc)}); "
            "nothing was saved for that day"
        ) from None
    write_atomic(path, body)
    if final:  # the whole day replaces what was saved of it early (digest wrote that file)
        response_path(raw_dir, day, partial=True).unlink(missing_ok=True)
    return FetchedDay(day, path, papers)


class FetchError(DigestError):
    """A day could not be fetched; ``fetched`` are the days saved before it."""

    def __init__(self, message: str, fetched: Iterable[FetchedDay] = ()):
        super().__init__(message)
        self.fetched = list(fetched)


class Api:
    """The daily-papers endpoint, over one HTTP connection, with retries."""

    def __init__(self, settings: FetchSettings, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.sleep = sleep
        self.http = httpx.Client(
            timeout=settings.timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def daily(self, date: dt.date) -> bytes:
        """Return the body of one day's answer, retrying what is worth retrying."""
        url = self.settings.endpoint + API_PATH
        params = {"date": date.isoformat(), "limit": str(LIMIT)}
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.http.get(url, params=params)
            except httpx.TimeoutException:
                if last:
                    raise DigestError(
                        f"{url} did not answer within {self.settings.timeout:g} s "
                        f"({attempts} tries); try again later"
                    ) from None
                self.sleep(self._backoff(attempt))
                continue
            except httpx.TransportError as exc:
                raise DigestError(
                    f"cannot reach {self.settings.endpoint} ({_reason(exc)}); are you offline? "
                    "Check the network, or pass --endpoint"
                ) from None
            status = response.status_code
            if status == 200:
                return response.content
            if (status == 429 or status >= 500) and not last:
                self.sleep(self._wait(response, attempt))
                continue
            again = "" if status < 500 and status != 429 else f" ({attempts} tries); try later"
            said = f"{status} {response.reason_phrase}"
            raise DigestError(f"{url}?date={date} answered {said}{again}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return float(self.settings.backoff * 2**attempt)

    def _wait(self, response: httpx.Response, attempt: int) -> float:
        """Wait as the server asks (Retry-After, seconds or a date), else back off."""
        asked = retry_after(response.headers.get("Retry-After"))
        if asked is None:
            return self._backoff(attempt)
        if asked > MAX_WAIT:
            raise DigestError(
                f"{self.settings.endpoint} asks to wait {asked:.0f} s before the next request; "
                "try again later"
            )
        return asked


def retry_after(value: str | None) -> float | None:
    """Read a Retry-After header: delay-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _reason(exc: BaseException) -> str:
    return one_line(str(exc))[:200] or type(exc).__name__
