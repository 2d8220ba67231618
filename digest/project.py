"""A digest project on disk: where its parts live, its settings and themes, and ``digest init``.

Every command works on one :class:`Project`; stages below it take plain paths and values, so
they never need to know how a project is laid out.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

from digest import __version__
from digest.config import DEFAULT_TEMPLATES, DEFAULTS_DIR, Config, load_config
from digest.errors import DigestError
from digest.fsutil import remove_leftovers, sha1_hex, write_atomic
from digest.lock import project_lock
from digest.model import Cues, Places, Rule, Theme

RAW_SUFFIXES = (".txt", ".json")
"""Raw dumps: page text copied from a browser, or saved responses of Hugging Face's API."""
CONFIG_NAME = "digest.yaml"
THEMES_NAME = "themes.yaml"


@dataclass(frozen=True)
class Project:
    """Paths of a project rooted at ``root``; every command works on one of these."""

    root: Path

    @classmethod
    def find(cls, root: Path) -> Project:
        """Open the project at ``root`` or the nearest folder above it (as git finds its
        repository), or explain how to make one."""
        start = root.resolve()
        for folder in (start, *start.parents):
            if (folder / "content" / CONFIG_NAME).is_file():
                return cls(folder)
        raise DigestError(
            f"no digest project here ({start / 'content' / CONFIG_NAME} not found, nor in a "
            "folder above); cd into a project or create one with `digest init DIR`",
        )

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
        """The project's themes, or the packaged defaults when it has no themes file.

        Read through a cache keyed by the file's bytes: parsing the YAML and checking every
        pattern took 0.07-0.1 s of each command, a tenth of a rebuild after a note.
        """
        path = self.themes_path if self.themes_path.is_file() else default_themes()
        try:  # keyed by the bytes read before parsing: an edit made meanwhile is read next time
            cached = self.cache_dir / "themes" / f"{_themes_key(path.read_bytes())}.pickle"
        except OSError:
            return _parse_themes(path)  # which says what is wrong with the file
        with suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            themes = pickle.loads(cached.read_bytes())
            if isinstance(themes, tuple) and all(isinstance(t, Theme) for t in themes):
                return themes
        themes = _parse_themes(path)
        with suppress(OSError):  # a cache that cannot be written only costs time
            for old in cached.parent.glob("*.pickle"):  # an edited file's: never read again
                old.unlink()
            write_atomic(cached, pickle.dumps(themes, protocol=5), durable=False)
        return themes

    @property
    def input_folders(self) -> list[Path]:
        """Every folder a build reads: the content, the project's templates, the packaged
        defaults (settings, themes, templates). A build is due when a file below them changes."""
        return [self.content_dir, self.templates_dir, DEFAULTS_DIR, DEFAULT_TEMPLATES]

    @property
    def lock_path(self) -> Path:
        return self.cache_dir / "lock"

    @contextmanager
    def writing(self, command: str) -> Iterator[None]:
        """Hold the project lock while a command writes (see :mod:`digest.lock`).

        Holding it, no other digest command is writing, so the temporary files of a page
        write that was killed midway are leftovers: they are removed here.
        """
        with project_lock(self.lock_path, command):
            remove_leftovers(self.digests_dir)
            yield

    def raw_dumps(self) -> list[Path]:
        """Return the raw dumps, in name order: pages (.txt) and saved API responses (.json)."""
        if not self.raw_dir.is_dir():
            return []
        return sorted(p for p in self.raw_dir.iterdir() if p.suffix in RAW_SUFFIXES and p.is_file())


def _parse_themes(path: Path) -> tuple[Theme, ...]:
    from digest.ingest.themes import load_themes  # the matcher: imported only to parse

    return load_themes(path)


def _themes_key(data: bytes) -> str:
    """Name a themes file's parsed form: its bytes, digest's version and the model's shape
    (a field added to Theme or Rule must not read an old pickle)."""
    models = (Theme, Rule, Places, Cues)
    shapes = [__version__, *(f"{m.__name__}.{f.name}" for m in models for f in fields(m))]
    return sha1_hex("|".join(shapes).encode() + b"\0" + data)[:24]


def default_themes() -> Path:
    """Return the packaged themes file, used outside a project and by projects without one."""
    return DEFAULTS_DIR / THEMES_NAME


GITIGNORE = "/site/\n/.site.staging/\n/.digest-cache/\n/.digest-serve/\n"
TEMPLATES_README = """# Templates

Put a file here with the name of one of digest's default templates (base.html, day.html,
theme.html, paper.html, home.html, _macros.html, static/style.css, ...) to override that one file;
every other template keeps coming from digest. See the defaults in digest's own templates/ folder.
"""


def init_project(root: Path) -> list[Path]:
    """Create a new project at ``root`` with commented settings and the default themes.

    ``root`` may hold other things (an existing repository): only files digest would
    overwrite are a reason to refuse, and an existing .gitignore gets digest's lines added.
    """
    if (root / "content" / CONFIG_NAME).exists():
        raise DigestError(f"{root} is already a digest project")
    if root.exists() and not root.is_dir():
        raise DigestError(f"{root} is a file; choose a folder")
    files = {
        root / "content" / CONFIG_NAME: (DEFAULTS_DIR / CONFIG_NAME).read_text(encoding="utf-8"),
        root / "content" / THEMES_NAME: default_themes().read_text(encoding="utf-8"),
        root / "content" / "raw" / ".gitkeep": "",
        root / "content" / "digests" / ".gitkeep": "",
        root / "templates" / "README.md": TEMPLATES_README,
        root / ".gitignore": GITIGNORE,
    }
    taken = [p for p in files if p.exists() and p.name not in (".gitignore", ".gitkeep")]
    if taken:
        raise DigestError(f"{taken[0]} exists; digest init would overwrite it")
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        have = gitignore.read_text(encoding="utf-8")
        missing = [line for line in GITIGNORE.splitlines() if line not in have.splitlines()]
        files[gitignore] = have + ("" if have.endswith("\n") or not have else "\n")
        files[gitignore] += "".join(f"{line}\n" for line in missing)
    created = []
    for path, content in files.items():
        if path.name == ".gitkeep" and path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        created.append(path)
    return created


AUTOMATION = DEFAULTS_DIR / "automation"
WORKFLOW = Path(".github") / "workflows" / "digest-daily.yml"
DAILY_SCRIPT = Path("digest-daily.sh")


@dataclass(frozen=True)
class Written:
    """A file ``digest init`` was asked for, and what became of it."""

    path: Path
    state: str
    """``created``, ``unchanged`` (already digest's), or ``kept`` (a different file is there)."""


def write_automation(root: Path, *, workflow: bool, cron: bool, python: str) -> list[Written]:
    """Write the daily job: a scheduled GitHub Actions workflow and/or a script for cron.

    Idempotent: a file already as digest writes it is left alone, and one someone edited is
    kept, never overwritten. ``python`` is the interpreter the cron script runs digest with
    (cron's PATH knows no virtualenv).
    """
    wanted: list[tuple[Path, str, int]] = []
    if workflow:
        text = (AUTOMATION / "github-daily.yml").read_text(encoding="utf-8")
        wanted.append((root / WORKFLOW, text, 0o644))
    if cron:
        text = (AUTOMATION / "digest-daily.sh").read_text(encoding="utf-8")
        wanted.append((root / DAILY_SCRIPT, text.replace("@PYTHON@", python), 0o755))
    return [_write_once(path, text, mode) for path, text, mode in wanted]


def cron_line(root: Path) -> str:
    """Return the crontab line that runs the daily script every morning, logging beside it."""
    folder = root.resolve()
    return f"17 7 * * * {folder / DAILY_SCRIPT} >> {folder / '.digest-daily.log'} 2>&1"


def _write_once(path: Path, text: str, mode: int) -> Written:
    if path.exists():
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        return Written(path, "unchanged" if same else "kept")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return Written(path, "created")
