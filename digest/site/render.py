"""Render the site's view models through its Jinja templates, fast enough for 50,000 pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import jinja2
from markupsafe import Markup

from digest import urls
from digest.site.records import Page, Site
from digest.site.templates import make_environment, render_template
from digest.text import xml_safe

STATIC_DIR = "static"


class Renderer:
    """Renders pages of one site with one environment (templates are compiled once)."""

    def __init__(self, dirs: list[Path], site: Site, bytecode_dir: Path | None = None):
        self.dirs = dirs
        self.env = make_environment(dirs, bytecode_dir=bytecode_dir)
        # A build compiles each template once and keeps it: no stat() of every template a page
        # uses, on every page (three per page, 16,000 at 5,000 papers). The preview server makes
        # a new Renderer for each rebuild, so edited templates are still picked up.
        self.env.auto_reload = False
        # ``site`` as a global too: macros, imported without context, link the fixed pages.
        self.env.globals.update(url=self.url, abs_url=self.abs_url, shared=self.shared, site=site)
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
            return urls.absolute(self.site.base_url, target)
        return self._root + target

    def shared(self, name: str) -> Markup:
        """Return a partial that depends only on ``site`` and links, rendered once per folder depth.

        The header and footer are the same on every page of a folder (5,000 paper pages share
        one), and rendering them dominated small pages; they get ``site`` and ``url``, no ``page``.
        """
        key = (name, self._root)
        html = self._shared.get(key)
        if html is None:
            html = Markup(render_template(self.env, name, site=self.site))
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
        """Render one page to bytes, or raise a DigestError naming the template file and line.

        Feeds and sitemaps lose the characters XML forbids (text from the web has them).
        """
        self._root = urls.root_of(page.path)
        text = render_template(self.env, page.template, page=page, site=self.site)
        return (xml_safe(text) if page.path.endswith(".xml") else text).encode("utf-8")

    def static_files(self) -> Iterator[tuple[str, Path]]:
        """Yield (site path, source file) for static assets; the project's win, file by file."""
        seen: set[str] = set()
        for folder in self.dirs:
            root = folder / STATIC_DIR
            for source in sorted(root.rglob("*")) if root.is_dir() else []:
                relative = source.relative_to(root).as_posix()
                if source.is_file() and relative not in seen:
                    seen.add(relative)
                    yield f"{urls.ASSETS}/{relative}", source
