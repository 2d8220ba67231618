"""Make a synthetic digest corpus of any size from the shipped sample dumps.

Each day is one raw dump in the samples' blank-line layout, dated by its file name and by a
"Mon D, YYYY" line, about 50 papers a day. Papers reuse the samples' abstracts; titles are varied
(a sample title plus a deterministic suffix) so every paper has its own id. Same arguments ->
byte-identical files, so benchmark runs compare like with like.

    python benchmarks/corpus.py --papers 5000 --out /tmp/corpus5k
    # then: digest -C /tmp/corpus5k build
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "data" / "samples"
"""The sample dumps, as the tests keep them (the project's content/ is the user's to change)."""
SETTINGS = REPO / "tests" / "data" / "project" / "digest.yaml"
PER_DAY = 50
LAST_DAY = dt.date(2025, 6, 30)
QUALIFIERS = (
    "at Scale",
    "Revisited",
    "for Edge Devices",
    "with Sparse Experts",
    "in the Wild",
    "via Distillation",
    "without Labels",
    "for Long Contexts",
    "under Distribution Shift",
    "with Fewer Bits",
    "for Video",
    "in Low-Resource Languages",
    "via Diffusion Priors",
    "for Robotics",
    "with Implicit Fields",
    "Made Simple",
    "at Inference Time",
    "for 3D Scenes",
)
HEADER = "Get trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"


def sample_papers() -> list[tuple[str, str]]:
    """Return (title, abstract) of every distinct paper in the shipped sample dumps."""
    from digest.ingest.parse import parse_file

    seen: dict[str, tuple[str, str]] = {}
    for path in sorted(SAMPLES.glob("*.txt")):
        for entry in parse_file(path, year=2024):
            if entry.abstract and not entry.truncated:
                seen.setdefault(entry.title, (entry.title, entry.abstract))
    return [seen[title] for title in sorted(seen)]


def day_papers(samples: list[tuple[str, str]], number: int, count: int) -> list[tuple[str, str]]:
    """Return ``count`` papers for day ``number``: varied titles, sample abstracts."""
    rng = random.Random(number)
    papers = []
    for slot in range(count):
        title, abstract = samples[rng.randrange(len(samples))]
        qualifier = QUALIFIERS[rng.randrange(len(QUALIFIERS))]
        papers.append((f"{title} {qualifier} (v{number}.{slot})", abstract))
    return papers


def dump_text(date: dt.date, papers: list[tuple[str, str]]) -> str:
    """Return one raw page dump in the samples' blank-line layout."""
    body = "".join(f"{title}\n\n{abstract}\n\n" for title, abstract in papers)
    return f"{HEADER}{date:%b} {date.day}, {date.year}\n\n{body}"


def write_corpus(
    out: Path, papers: int, per_day: int = PER_DAY, last_day: dt.date = LAST_DAY
) -> list[Path]:
    """Write a project at ``out`` whose raw dumps hold ``papers`` papers; return the dumps."""
    raw = out / "content" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    shutil.copy(SETTINGS, out / "content" / "digest.yaml")
    shutil.copy(REPO / "digest" / "defaults" / "themes.yaml", out / "content" / "themes.yaml")
    samples = sample_papers()
    days = -(-papers // per_day)
    written = []
    for number in range(days):
        date = last_day - dt.timedelta(days=days - 1 - number)
        count = min(per_day, papers - number * per_day)
        path = raw / f"{date.isoformat()}-corpus.txt"
        path.write_text(dump_text(date, day_papers(samples, number, count)), encoding="utf-8")
        written.append(path)
    return written


def write_next_day(project: Path, number: int, name: str = "corpus") -> Path:
    """Write the raw dump of the day after the project's last one: 50 papers made from
    ``number`` (a seed: each benchmark picks its own range). Return its path."""
    raw = sorted((project / "content" / "raw").glob("*.txt"))
    date = dt.date.fromisoformat(raw[-1].name[:10]) + dt.timedelta(days=1)
    dump = project / "content" / "raw" / f"{date.isoformat()}-{name}.txt"
    dump.write_text(dump_text(date, day_papers(sample_papers(), number, 50)), encoding="utf-8")
    return dump


def add_note(project: Path, note: str) -> None:
    """Add a note under the first paper of a middle day's digest page (a changed day)."""
    pages = sorted((project / "content" / "digests").glob("*.md"))
    page = pages[len(pages) // 2]
    text = page.read_text(encoding="utf-8")
    start = text.index("\n### ")
    end = text.find("\n### ", start + 1)
    end = len(text) if end < 0 else end
    page.write_text(text[:end].rstrip("\n") + f"\n\n{note}\n" + text[end:], encoding="utf-8")


def edit_title(project: Path, word: str) -> None:
    """Add a word to the first title of a day a third of the way in (a changed day whose
    papers' searchable text changed, in an old block of the index)."""
    pages = sorted((project / "content" / "digests").glob("*.md"))
    page = pages[len(pages) // 3]
    text = page.read_text(encoding="utf-8")
    at = text.index(" {#p-", text.index("\n### "))
    page.write_text(f"{text[:at]} {word}{text[at:]}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, required=True, help="number of papers")
    parser.add_argument("--out", type=Path, required=True, help="project folder to create")
    parser.add_argument("--per-day", type=int, default=PER_DAY, help="papers a day (default 50)")
    args = parser.parse_args(argv)
    dumps = write_corpus(args.out, args.papers, args.per_day)
    print(f"{args.out}: {args.papers} papers in {len(dumps)} daily dumps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
