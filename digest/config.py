"""The settings schema of ``content/digest.yaml``, declared once, and the checks of its values.

Each setting is a dataclass field declared with :func:`setting`: its default, the check its
value must pass, and its YAML key when that is not the field's name (``from`` is a Python
keyword). :func:`load_config` walks these declarations, so there is one loader and one set of
error messages for every key, nested sections (``email:``, ``email.smtp:``) included: an unknown
key or a wrong type is an error naming the file and the key's line, never a surprise later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.urls import check_base_url
from digest.yamlfile import line_of, load_yaml, shown

DEFAULTS_DIR = Path(__file__).parent / "defaults"
"""Packaged defaults: settings, themes and templates a project overrides file by file."""
DEFAULT_TEMPLATES = DEFAULTS_DIR / "templates"


def template_dirs(project_templates: Path) -> list[Path]:
    """Return the template folders in lookup order: the project's, then the packaged ones."""
    dirs = [project_templates] if project_templates.is_dir() else []
    if DEFAULT_TEMPLATES.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(DEFAULT_TEMPLATES)
    return dirs


SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
ADDRESS = re.compile(r"[^@\s<>()\[\],;:\\\"]+@[A-Za-z0-9.-]+")

Check = Callable[[Any, str], Any]
"""Validate a setting's value (``where`` is its dotted key) and return it in its final form."""


def setting(default: Any = None, check: Check | None = None, *, key: str | None = None) -> Any:
    """Declare a setting: its default, the check of its value, its YAML key if not the name."""
    metadata = {"check": check, "key": key}
    if dataclasses.is_dataclass(default):
        return field(default_factory=type(default), metadata=metadata)
    return field(default=default, metadata=metadata)


# --- checks ------------------------------------------------------------------------------------


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DigestError(f"{where} must be text, got {shown(value)}")
    return value


def whole(minimum: int, maximum: int = 10**6, what: str = "") -> Check:
    """Return a check for a whole number in a range."""

    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            wanted = what or f"a whole number >= {minimum}"
            raise DigestError(f"{where} must be {wanted}, got {shown(value)}")
        return value

    return check


def number(minimum: float, maximum: float) -> Check:
    """Return a check for a number (whole or not) in a range."""

    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DigestError(f"{where} must be a number, got {shown(value)}")
        if not minimum <= value <= maximum:
            raise DigestError(f"{where} must be between {minimum} and {maximum}, got {value!r}")
        return float(value)

    return check


def one_of(*choices: str) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in choices:
            raise DigestError(f"{where} must be one of {', '.join(choices)}; got {shown(value)}")
        return str(value)

    return check


def base_url(value: Any, where: str) -> str:
    return check_base_url(text(value, where), where)


def address(value: Any, where: str) -> str:
    """Accept ``addr@host`` or ``Name <addr@host>`` on one line; anything else may forge headers."""
    return check_address(text(value, where), where) if value else ""


def addresses(value: Any, where: str) -> tuple[str, ...]:
    return tuple(check_address(item, where) for item in _text_list(value, where))


def unsubscribe_targets(value: Any, where: str) -> tuple[str, ...]:
    return tuple(check_unsubscribe(item, where) for item in _text_list(value, where))


def _text_list(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise DigestError(f"{where} must be text or a list of text")
    return items


def check_address(value: str, where: str) -> str:
    """Accept ``addr@host`` or ``Name <addr@host>`` on one line; anything else may forge headers."""
    if any(c in value for c in "\r\n\0") or not value.isprintable():
        raise DigestError(f"{where}: {value!r} must be one line without control characters")
    match = re.fullmatch(r"\s*(?:(?P<name>[^<>]*?)\s*<(?P<a>[^<>]*)>|(?P<b>[^<>\s]*))\s*", value)
    found = (match.group("a") or match.group("b") or "") if match else ""
    if not ADDRESS.fullmatch(found) or not found.isascii():
        raise DigestError(f"{where}: {value!r} is not an email address like name@example.org")
    return value.strip()


def check_unsubscribe(value: str, where: str) -> str:
    """Accept the two kinds of List-Unsubscribe target: a mailto: address or an http(s) URL."""
    if not value.isprintable() or " " in value or "<" in value or ">" in value:
        raise DigestError(f"{where}: {value!r} must be a URL without spaces")
    if value.startswith("mailto:") and ADDRESS.fullmatch(value[7:].split("?", 1)[0]):
        return value
    if value.startswith(("https://", "http://")) and len(value) > 8:
        return value
    raise DigestError(f"{where}: {value!r} must be mailto:ADDRESS or an https:// URL")


# --- the schema --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    """Where ``digest email --send`` delivers; the password is only read from ``password_env``."""

    host: str = setting("localhost", text)
    port: int | None = setting(None, whole(1, 65535))
    security: str = setting("starttls", one_of(*SECURITY_PORTS))
    user: str = setting("", text)
    password_env: str = setting("DIGEST_SMTP_PASSWORD", text)
    timeout: int = setting(30, whole(1, 65535))

    def effective_port(self) -> int:
        """Return the configured port, else the standard one for the security mode."""
        return self.port or SECURITY_PORTS[self.security]


@dataclass(frozen=True)
class EmailConfig:
    """The ``email:`` settings; ``sender`` is the YAML key ``from`` (a Python keyword)."""

    sender: str = setting("", address, key="from")
    to: tuple[str, ...] = setting((), addresses)
    reply_to: str = setting("", address)
    list_unsubscribe: tuple[str, ...] = setting((), unsubscribe_targets)
    smtp: SmtpConfig = setting(SmtpConfig())
    sent_log: str = setting("content/sent-log.jsonl", text)
    max_papers: int = setting(10, whole(1))
    abstract_length: int = setting(300, whole(0))
    min_upvotes: int = setting(0, whole(0))
    """Papers with fewer upvotes are left out (papers whose upvotes are unknown stay in)."""


@dataclass(frozen=True)
class FetchConfig:
    """How ``digest fetch`` asks Hugging Face's API; the endpoint defaults to HF_ENDPOINT's."""

    endpoint: str = setting("", base_url)
    timeout: int = setting(30, whole(1, 600))
    retries: int = setting(4, whole(0, 20))
    """Retries of a request answered 429 or 5xx (or timed out), waiting longer each time."""
    backoff: float = setting(1.0, number(0, 600))
    """Seconds before the first retry; doubled for each next one (a Retry-After wins)."""


@dataclass(frozen=True)
class Config:
    """Site settings; field names are the keys of ``content/digest.yaml``."""

    title: str = setting("Research digest", text)
    description: str = setting("Daily research papers, grouped by theme.", text)
    base_url: str = setting("", base_url)
    default_year: int | None = setting(None, whole(1, 9999, "a positive whole number"))
    page_size: int = setting(50, whole(1, 10**6, "a positive whole number"))
    sort: str = setting("upvotes", one_of("upvotes", "source"))
    """A day's papers in a theme: most upvoted first, or in the order their source had."""
    email: EmailConfig = setting(EmailConfig())
    fetch: FetchConfig = setting(FetchConfig())

    def year(self) -> int:
        """Return the year for page dates without one: configured, else the current year."""
        return self.default_year or dt.date.today().year


# --- loading -----------------------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """Read and check ``digest.yaml``: unknown keys and wrong types are errors, not surprises."""
    data = load_yaml(path)
    if data is not None and not isinstance(data, dict):
        raise DigestError("expected a mapping of settings", path)
    config: Config = _section(Config, data or {}, "", path)
    return config


def _section(schema: type[Any], data: dict[str, Any], prefix: str, path: Path) -> Any:
    """Check one mapping against a schema dataclass; nested dataclasses are nested mappings."""
    declared = {f.metadata.get("key") or f.name: f for f in fields(schema)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("__"):
            continue  # line bookkeeping of the YAML loader
        where = f"{prefix}{key}"
        declared_field = declared.get(key)
        if declared_field is None:
            known = ", ".join(sorted(declared))
            raise DigestError(f"unknown setting {where}; known: {known}", path, line_of(data, key))
        if value is None:
            continue
        try:
            values[declared_field.name] = _value(declared_field, value, where, path)
        except DigestError as exc:
            if exc.path is not None:
                raise
            raise DigestError(exc.message, path, line_of(data, key)) from None
    return schema(**values)


def _value(declared: dataclasses.Field[Any], value: Any, where: str, path: Path) -> Any:
    check = declared.metadata.get("check")
    if check is not None:
        return check(value, where)
    nested = declared.default_factory  # a section: its schema is the default's type
    if not isinstance(value, dict):
        raise DigestError(f"{where} must be a mapping of settings, got {shown(value)}")
    return _section(nested, value, f"{where}.", path)  # type: ignore[arg-type]
