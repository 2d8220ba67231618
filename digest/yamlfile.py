"""Load YAML configuration with line numbers, so a mistake in it is reported as file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from digest.errors import DigestError

LINE_KEY = "__line__"
KEY_LINES = "__key_lines__"


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's 1-based line, and each of its keys' lines."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE_KEY] = node.start_mark.line + 1
    mapping[KEY_LINES] = {
        key.value: key.start_mark.line + 1 for key, _ in node.value if isinstance(key.value, str)
    }
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors become a DigestError with the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DigestError("file not found", path) from None
    except UnicodeDecodeError:
        raise DigestError("is not UTF-8 text", path) from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DigestError(f"invalid YAML: {exc.problem or exc.context}", path, line) from None
    except yaml.YAMLError as exc:
        raise DigestError(f"invalid YAML: {exc}", path) from None


def line_of(mapping: Any, key: str | None = None) -> int | None:
    """Return the line of ``key`` in a loaded mapping (else the line the mapping starts on)."""
    if not isinstance(mapping, dict):
        return None
    if key is not None and key in mapping.get(KEY_LINES, {}):
        return int(mapping[KEY_LINES][key])
    return mapping.get(LINE_KEY)


def without_lines(value: Any) -> Any:
    """Return a plain copy of loaded YAML with the line bookkeeping removed."""
    if isinstance(value, dict):
        return {k: without_lines(v) for k, v in value.items() if k not in (LINE_KEY, KEY_LINES)}
    if isinstance(value, list):
        return [without_lines(v) for v in value]
    return value
