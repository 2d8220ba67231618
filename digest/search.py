"""Client-side search: the lunr index and document store written with the site.

(Placeholder until the search issue lands: writes nothing.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from digest.load import Library


def search_files(library: Library, cache_dir: Path | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (site path, bytes) of every search file: index shards, documents, manifest."""
    yield from ()
