"""A digest project on disk: where its parts live and its settings (``content/digest.yaml``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.model import Theme
from digest.themes import load_themes
from digest.yamlfile import line_of, load_yaml, without_lines

DEFAULTS_DIR = Path(__file__).parent / "defaults"
CONFIG_NAME = "digest.yaml"
THEMES_NAME = "themes.yaml"


SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
ADDRESS = re.compile(r"[^@\s<>()\[\],;:\\\"]+@[A-Za-z0-9.-]+")


@dataclass(frozen=True)
class SmtpConfig:
    """Where ``digest email --send`` delivers; the password is only read from ``password_env``."""

    host: str = "localhost"
    port: int | None = None
    security: str = "starttls"
    user: str = ""
    password_env: str = "DIGEST_SMTP_PASSWORD"
    timeout: int = 30

    def effective_port(self) -> int:
        """Return the configured port, else the standard one for the security mode."""
        return self.port or SECURITY_PORTS[self.security]


@dataclass(frozen=True)
class EmailConfig:
    """The ``email:`` settings; ``sender`` is the YAML key ``from`` (a Python keyword)."""

    sender: str = ""
    to: tuple[str, ...] = ()
    reply_to: str = ""
    list_unsubscribe: tuple[str, ...] = ()
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    sent_log: str = "content/sent-log.jsonl"
    max_papers: int = 10
    abstract_length: int = 300


@dataclass(frozen=True)
class Config:
    """Site settings; field names are the keys of ``content/digest.yaml``."""

    title: str = "Research digest"
    description: str = "Daily research papers, grouped by theme."
    base_url: str = ""
    default_year: int | None = None
    page_size: int = 50
    email: EmailConfig = field(default_factory=EmailConfig)

    def year(self) -> int:
        """Return the year for page dates without one: configured, else the current year."""
        return self.default_year or dt.date.today().year


def load_config(path: Path) -> Config:
    """Read and check ``digest.yaml``: unknown keys and wrong types are errors, not surprises."""
    data = load_yaml(path) or {}
    if not isinstance(data, dict):
        raise DigestError("expected a mapping of settings", path)
    known = {f.name: f for f in fields(Config)}
    values: dict[str, Any] = {}
    for key, value in without_lines(data).items():
        if key not in known:
            raise DigestError(
                f"unknown setting {key!r}; known: {', '.join(sorted(known))}", path, line_of(data)
            )
        if value is None:
            continue
        if key == "email":
            values[key] = load_email_config(data[key], path)
            continue
        values[key] = _checked(key, value, path)
    return Config(**values)


def _checked(key: str, value: Any, path: Path) -> Any:
    if key in ("default_year", "page_size"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DigestError(f"{key} must be a positive whole number, got {value!r}", path)
        return value
    if not isinstance(value, str):
        raise DigestError(f"{key} must be text, got {value!r}", path)
    if key == "base_url" and value and not value.startswith(("http://", "https://")):
        raise DigestError(f"base_url must start with http:// or https://, got {value!r}", path)
    return value


EMAIL_KEYS = {
    "from": "sender",
    "to": "to",
    "reply_to": "reply_to",
    "list_unsubscribe": "list_unsubscribe",
    "smtp": "smtp",
    "sent_log": "sent_log",
    "max_papers": "max_papers",
    "abstract_length": "abstract_length",
}
SMTP_KEYS = ("host", "port", "security", "user", "password_env", "timeout")


def load_email_config(raw: Any, path: Path) -> EmailConfig:
    """Check the ``email:`` mapping as strictly as the top level: a typo is an error."""
    data = _mapping(raw, "email", EMAIL_KEYS, path)
    values: dict[str, Any] = {}
    for key, value in data.items():
        where = f"email.{key}"
        if key == "smtp":
            values["smtp"] = _smtp_config(raw[key], path)
        elif key in ("to", "list_unsubscribe"):
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise DigestError(f"{where} must be text or a list of text", path, line_of(raw))
            check = check_address if key == "to" else check_unsubscribe
            values[EMAIL_KEYS[key]] = tuple(check(i, where, path) for i in items)
        elif key in ("max_papers", "abstract_length"):
            values[key] = _whole(value, where, path, minimum=1 if key == "max_papers" else 0)
        else:
            text = _text(value, where, path)
            if key in ("from", "reply_to") and text:
                text = check_address(text, where, path)
            values[EMAIL_KEYS[key]] = text
    return EmailConfig(**values)


def _smtp_config(raw: Any, path: Path) -> SmtpConfig:
    data = _mapping(raw, "email.smtp", {k: k for k in SMTP_KEYS}, path)
    values: dict[str, Any] = {}
    for key, value in data.items():
        where = f"email.smtp.{key}"
        if key in ("port", "timeout"):
            values[key] = _whole(value, where, path, minimum=1, maximum=65535)
        else:
            values[key] = _text(value, where, path)
    security = values.get("security", "starttls")
    if security not in SECURITY_PORTS:
        choices = ", ".join(SECURITY_PORTS)
        raise DigestError(f"email.smtp.security must be one of {choices}; got {security!r}", path)
    return SmtpConfig(**values)


def _mapping(raw: Any, name: str, known: dict[str, str], path: Path) -> dict[str, Any]:
    """Return a plain mapping without empty values; unknown keys name the known ones."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DigestError(f"{name} must be a mapping of settings, got {raw!r}", path)
    data = without_lines(raw)
    for key in data:
        if key not in known:
            message = f"unknown setting {name}.{key}; known: {', '.join(sorted(known))}"
            raise DigestError(message, path, line_of(raw))
    return {k: v for k, v in data.items() if v is not None}


def _text(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str):
        raise DigestError(f"{where} must be text, got {value!r}", path)
    return value


def _whole(value: Any, where: str, path: Path, minimum: int, maximum: int = 10**6) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise DigestError(f"{where} must be a whole number >= {minimum}, got {value!r}", path)
    return value


def check_address(text: str, where: str, path: Path | None = None) -> str:
    """Accept ``addr@host`` or ``Name <addr@host>`` on one line; anything else may forge headers."""
    if any(c in text for c in "\r\n\0") or not text.isprintable():
        raise DigestError(f"{where}: {text!r} must be one line without control characters", path)
    match = re.fullmatch(r"\s*(?:(?P<name>[^<>]*?)\s*<(?P<a>[^<>]*)>|(?P<b>[^<>\s]*))\s*", text)
    address = (match.group("a") or match.group("b") or "") if match else ""
    if not ADDRESS.fullmatch(address) or not address.isascii():
        raise DigestError(f"{where}: {text!r} is not an email address like name@example.org", path)
    return text.strip()


def check_unsubscribe(text: str, where: str, path: Path | None = None) -> str:
    """Accept the two kinds of List-Unsubscribe target: a mailto: address or an http(s) URL."""
    if not text.isprintable() or " " in text or "<" in text or ">" in text:
        raise DigestError(f"{where}: {text!r} must be a URL without spaces", path)
    if text.startswith("mailto:") and ADDRESS.fullmatch(text[7:].split("?", 1)[0]):
        return text
    if text.startswith(("https://", "http://")) and len(text) > 8:
        return text
    raise DigestError(f"{where}: {text!r} must be mailto:ADDRESS or an https:// URL", path)


@dataclass(frozen=True)
class Project:
    """Paths of a project rooted at ``root``; every command works on one of these."""

    root: Path

    @classmethod
    def find(cls, root: Path) -> Project:
        """Open the project at ``root``, or explain how to make one."""
        project = cls(root.resolve())
        if not project.config_path.is_file():
            raise DigestError(
                f"no digest project here ({project.config_path} not found); "
                "cd into a project or create one with `digest init DIR`",
            )
        return project

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def raw_dir(self) -> Path:
        return self.content_dir / "raw"

    @property
    def digests_dir(self) -> Path:
        return self.content_dir / "digests"

    @property
    def config_path(self) -> Path:
        return self.content_dir / CONFIG_NAME

    @property
    def themes_path(self) -> Path:
        return self.content_dir / THEMES_NAME

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def cache_dir(self) -> Path:
        """Caches that only make commands faster; safe to delete, never committed."""
        return self.root / ".digest-cache"

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def themes(self) -> tuple[Theme, ...]:
        """The project's themes, or the packaged defaults when it has no themes file."""
        path = self.themes_path if self.themes_path.is_file() else DEFAULTS_DIR / THEMES_NAME
        return load_themes(path)

    def raw_dumps(self) -> list[Path]:
        """Return the raw page dumps shipped in the project, in name order."""
        return sorted(self.raw_dir.glob("*.txt")) if self.raw_dir.is_dir() else []


GITIGNORE = "/site/\n/.site.staging/\n/.digest-cache/\n/.digest-serve/\n"
TEMPLATES_README = """# Templates

Put a file here with the name of one of digest's default templates (base.html, day.html,
theme.html, paper.html, home.html, _macros.html, static/style.css, ...) to override that one file;
every other template keeps coming from digest. See the defaults in digest's own templates/ folder.
"""


def init_project(root: Path) -> list[Path]:
    """Create a new project at ``root`` with commented settings and the default themes."""
    if (root / "content" / CONFIG_NAME).exists():
        raise DigestError(f"{root} is already a digest project")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DigestError(f"{root} exists and is not empty; choose a new or empty folder")
    files = {
        root / "content" / CONFIG_NAME: (DEFAULTS_DIR / CONFIG_NAME).read_text(encoding="utf-8"),
        root / "content" / THEMES_NAME: (DEFAULTS_DIR / THEMES_NAME).read_text(encoding="utf-8"),
        root / "content" / "raw" / ".gitkeep": "",
        root / "content" / "digests" / ".gitkeep": "",
        root / "templates" / "README.md": TEMPLATES_README,
        root / ".gitignore": GITIGNORE,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
