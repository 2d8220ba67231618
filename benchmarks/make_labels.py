"""Write ``digest/defaults/labels.json``: the dev labels with their abstracts and source dumps.

The dev labels (``tests/data/dev_labels.json``, a copy of the shared labelling set) hold titles
and themes only. ``digest themes eval`` needs abstracts, and an honest split needs to know which
dump each paper came from, so this joins the labels with the four sample dumps. A paper that is
on several pages is assigned to one ``source``, the lowest-numbered sample it appears in
(``000_…`` before ``001_…``), so a split by source never puts one paper on both sides;
``sources`` lists every sample it is on. Same inputs -> byte-identical output.

    .venv/bin/python benchmarks/make_labels.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "tests" / "data" / "dev_labels.json"
SAMPLES = REPO / "tests" / "data" / "samples"
OUT = REPO / "digest" / "defaults" / "labels.json"


def sample_name(path: Path) -> str:
    """Return a dump's name as the labelling set knows it (without the date prefix we added)."""
    return re.sub(r"^\d{4}-\d{2}-\d{2}-", "", path.name)


def abstracts_by_source() -> dict[str, list[tuple[str, str]]]:
    """Map each normalised title to [(sample name, abstract)], samples in name order."""
    from digest.ingest.parse import normalise_title, parse_file

    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(SAMPLES.glob("*.txt"), key=sample_name):
        for entry in parse_file(path, date=dt.date(2000, 1, 1)):
            seen = found.setdefault(normalise_title(entry.title), [])
            if sample_name(path) not in (name for name, _ in seen):
                seen.append((sample_name(path), entry.abstract))
    return found


def joined(labels: list[dict[str, object]]) -> list[dict[str, object]]:
    """Return each label with ``abstract``, ``source`` (its one group) and ``sources``."""
    from digest.ingest.parse import normalise_title

    found = abstracts_by_source()
    out = []
    for label in labels:
        where = found[normalise_title(str(label["title"]))]
        source, abstract = where[0]
        out.append(
            {
                "title": label["title"],
                "themes": label["themes"],
                "source": source,
                "sources": [name for name, _ in where],
                "abstract": abstract,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the joined labels file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    labels = json.loads(args.labels.read_text(encoding="utf-8"))
    text = json.dumps(joined(labels), ensure_ascii=False, indent=1) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(labels)} labelled papers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
