"""Render view models through Jinja templates; a template mistake names its file and line.

Templates come from the project's ``templates/`` first and the packaged defaults second, file by
file, so a project overrides just the templates it wants to change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import traceback
from collections.abc import Iterator
from pathlib import Path

import jinja2
from markupsafe import Markup

from digest.errors import DigestError
from digest.project import DEFAULTS_DIR
from digest.views import Page, Site

DEFAULT_TEMPLATES = DEFAULTS_DIR / "templates"
STATIC_DIR = "static"
ASSETS_DIR = "assets"


def template_dirs(project_templates: Path) -> list[Path]:
    """Return the template folders in lookup order: the project's, then the packaged ones."""
    dirs = [project_templates] if project_templates.is_dir() else []
    if DEFAULT_TEMPLATES.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(DEFAULT_TEMPLATES)
    return dirs


def make_environment(dirs: list[Path]) -> jinja2.Environment:
    """Return the Jinja environment: autoescaping on, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(long_date=long_date, short_date=short_date, atom_date=atom_date)
    return env


def long_date(date: dt.date) -> str:
    return f"{date.day} {date:%B %Y}"


def short_date(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"


def atom_date(date: dt.date) -> str:
    return f"{date.isoformat()}T00:00:00Z"


class Renderer:
    """Renders pages of one site with one environment (templates are compiled once)."""

    def __init__(self, dirs: list[Path], site: Site):
        self.dirs = dirs
        self.env = make_environment(dirs)
        # A build compiles each template once and keeps it: no stat() of every template a page
        # uses, on every page (three per page, 16,000 at 5,000 papers). The preview server makes
        # a new Renderer for each rebuild, so edited templates are still picked up.
        self.env.auto_reload = False
        self.env.globals.update(url=self.url, abs_url=self.abs_url, shared=self.shared)
        self.site = site
        self._root = ""
        self._shared: dict[tuple[str, str], Markup] = {}

    def url(self, target: str) -> str:
        """Return a link from the page being rendered to a site path, relative so file:// works.

        A method reading the current page's depth (not a context function) lets templates
        import macros without context, so Jinja compiles them once instead of once a page.
        """
        return self._root + target

    def abs_url(self, target: str) -> str:
        """Return an absolute URL when ``base_url`` is set, else the relative link."""
        if self.site.base_url:
            return self.site.base_url.rstrip("/") + "/" + target
        return self._root + target

    def shared(self, name: str) -> Markup:
        """Return a partial that depends only on ``site`` and links, rendered once per folder depth.

        The header and footer are the same on every page of a folder (5,000 paper pages share
        one), and rendering them dominated small pages; they get ``site`` and ``url``, no ``page``.
        """
        key = (name, self._root)
        html = self._shared.get(key)
        if html is None:
            html = Markup(self.env.get_template(name).render(site=self.site))
            self._shared[key] = html
        return html

    def warm(self) -> None:
        """Compile the site's templates now, so forked workers inherit them compiled."""
        for name in self.env.list_templates(extensions=("html", "xml", "txt")):
            if name.startswith(("email/", "static/")):
                continue
            # A broken template is reported when a page using it renders, with file and line.
            with contextlib.suppress(jinja2.TemplateError):
                self.env.get_template(name)

    def render(self, page: Page) -> bytes:
        """Render one page to bytes, or raise a DigestError naming the template file and line."""
        self._root = "../" * page.path.count("/")
        try:
            template = self.env.get_template(page.template)
            return template.render(page=page, site=self.site).encode("utf-8")
        except jinja2.TemplateSyntaxError as exc:
            path = exc.filename or exc.name or page.template
            raise DigestError(f"template error: {exc.message}", path, exc.lineno) from None
        except jinja2.TemplateNotFound as exc:
            raise DigestError(
                f"template {exc.name!r} not found in {', '.join(map(str, self.dirs))}"
            ) from None
        except Exception as exc:
            where, line = _template_frame(exc)
            if where is None:
                raise
            message = f"template error: {type(exc).__name__}: {exc}"
            raise DigestError(message, where, line) from None

    def static_files(self) -> Iterator[tuple[str, Path]]:
        """Yield (site path, source file) for static assets; the project's win, file by file."""
        seen: set[str] = set()
        for folder in self.dirs:
            root = folder / STATIC_DIR
            for source in sorted(root.rglob("*")) if root.is_dir() else []:
                relative = source.relative_to(root).as_posix()
                if source.is_file() and relative not in seen:
                    seen.add(relative)
                    yield f"{ASSETS_DIR}/{relative}", source


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """Find the innermost traceback frame that is a template, as Jinja rewrites them."""
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith((".html", ".xml", ".txt", ".svg")):
            found = (frame.filename, frame.lineno)
    return found
