"""The benchmark corpus as a Hugo site, with our own minimal layouts (no theme, no search).

What it builds, to compare like with like: one page per paper (title, date, themes, days,
abstract), one list page per day and per theme (taxonomy term pages paginated by 50, as
digest's theme pages), RSS feeds and a sitemap (Hugo's built-in templates). Themes and days
come from digest's own library, so both tools group the same papers the same way.

    python benchmarks/hugo_site.py PROJECT OUT     # then: hugo -s OUT -d public
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CONFIG = """baseURL = "https://example.org/"
title = "bench"
disableKinds = ["robotsTXT", "404"]
paginate = 50
[taxonomies]
theme = "themes"
day = "days"
"""
LAYOUTS = HERE / "hugo_layouts"
"""Our own minimal layouts: a paper page, paginated lists, the terms of a taxonomy."""


def write_hugo_site(project: Path, out: Path) -> int:
    """Write a Hugo site of a digest project's papers into ``out``; return the paper count."""
    from digest.pages.library import load_library
    from digest.project import Project

    digest = Project.find(project)
    library = load_library(digest.digests_dir, digest.themes, digest.cache_dir)
    (out / "content" / "papers").mkdir(parents=True)
    (out / "config.toml").write_text(CONFIG, encoding="utf-8")
    shutil.copytree(LAYOUTS, out / "layouts")
    for record in library.records.values():
        front = {
            "title": record.title,
            "date": record.first_seen.isoformat(),
            "themes": [library.theme_name(s) for s in record.themes or ("other",)],
            "days": [d.isoformat() for d in record.dates],
        }
        text = json.dumps(front, ensure_ascii=False, indent=1) + "\n\n" + record.abstract + "\n"
        (out / "content" / "papers" / f"{record.id}.md").write_text(text, encoding="utf-8")
    return len(library.records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="an ingested digest project")
    parser.add_argument("out", type=Path, help="the Hugo site folder to create")
    args = parser.parse_args(argv)
    print(f"{args.out}: {write_hugo_site(args.project, args.out)} papers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
