"""A digest project on disk: where its parts live and its settings (``content/digest.yaml``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
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


@dataclass(frozen=True)
class Config:
    """Site settings; field names are the keys of ``content/digest.yaml``."""

    title: str = "Research digest"
    description: str = "Daily research papers, grouped by theme."
    base_url: str = ""
    default_year: int | None = None
    page_size: int = 50

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


GITIGNORE = "/site/\n/.site.staging/\n"
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
