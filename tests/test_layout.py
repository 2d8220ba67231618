"""The package layout the README describes: imports point one way, modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "digest"
STAGES = ("ingest", "pages", "site", "build", "mail", "serve")
MAY_IMPORT = {
    "pages": set(),
    "ingest": {"pages"},
    "site": {"pages"},
    "build": {"ingest", "pages", "site"},
    "mail": {"pages", "site"},
    "serve": {"build", "ingest", "pages", "site"},
}
"""Which stage packages each stage may import; every stage may import the base modules."""
BASE = {
    "__version__",
    "config",
    "dates",
    "errors",
    "fsutil",
    "lock",
    "model",
    "text",
    "urls",
    "yamlfile",
}


def digest_imports(path: Path) -> set[str]:
    """Return the digest modules a file imports, as dotted names below ``digest``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digest"):
            base = node.module.removeprefix("digest").lstrip(".")
            found |= {base or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("digest.") for a in node.names if a.name.startswith("digest.")
            }
    return {name for name in found if name}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    parts = path.relative_to(PACKAGE).parts
    stage = parts[0] if len(parts) > 1 else None
    for name in digest_imports(path):
        top = name.split(".")[0]
        if stage == "cli":
            continue  # the command line wires everything together
        assert top != "cli" or path.name == "__main__.py", f"{path.name} imports the CLI"
        if stage is None:
            if path.stem in BASE:  # base modules import base modules only
                assert top in BASE, f"{path.name} imports {name}"
            continue
        if top in STAGES and top != stage:
            assert top in MAY_IMPORT[stage], f"digest/{stage} may not import digest/{top}"
        if top not in STAGES and top not in BASE:
            assert stage in ("build", "mail", "serve"), f"digest/{stage} imports digest.{name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_longer_than_500_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500
