"""Load YAML configuration with line numbers, so a mistake in it is reported as file:line.

Also the one place that turns PyYAML's errors into plain words on the line of the mistake,
and that refuses aliases (``*name``): a few lines of them expand to gigabytes (a "billion
laughs" bomb), and digest's files never need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from digest.errors import DigestError

LINE_KEY = "__line__"
KEY_LINES = "__key_lines__"
ITEM_LINES = "__item_lines__"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
ALIASES_REFUSED = "YAML aliases (*name) are not allowed in digest's files; write the value out"


def lenient_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """Read a date-like scalar as a date, or keep it as text when it is no real date.

    PyYAML raises a bare ValueError for ``2024-02-31``; as text, the key's own check says
    what is wrong with it, on its line.
    """
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return str(node.value)


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's 1-based line, and each of its keys' lines."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuse an alias where it appears, before anything is expanded."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _AliasError(event.start_mark.line)
        return super().compose_node(parent, index)


class _AliasError(Exception):
    def __init__(self, line: int):
        self.line = line


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE_KEY] = node.start_mark.line + 1
    mapping[KEY_LINES] = {
        key.value: key.start_mark.line + 1 for key, _ in node.value if isinstance(key.value, str)
    }
    mapping[ITEM_LINES] = {
        key.value: [item.start_mark.line + 1 for item in value.value]
        for key, value in node.value
        if isinstance(key.value, str) and isinstance(value, yaml.SequenceNode)
    }
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(TIMESTAMP_TAG, lenient_timestamp)


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
    except RecursionError:  # [[[[... a thousand deep: the parser recurses once a level
        raise DigestError("is nested too deeply (lists or mappings in each other)", path) from None
    except _AliasError as exc:
        raise DigestError(ALIASES_REFUSED, path, exc.line + 1) from None
    except yaml.YAMLError as exc:
        message, line = explain_yaml_error(exc, text.split("\n"))
        raise DigestError(message, path, line) from None


def refuse_aliases(text: str, loader: type[Any], path: Path, first_line: int) -> None:
    """Refuse YAML text with an alias (for loaders, like libyaml's, that compose in C).

    An alias needs a ``*``, so text without one is not even scanned again.
    """
    if "*" not in text:
        return
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + first_line if event.start_mark else None
                raise DigestError(ALIASES_REFUSED, path, line)
    except yaml.YAMLError:
        return  # the load that follows reports it


_PLAIN_WORDS = (
    ("found character '\\t'", "a tab character; indent with spaces only"),
    (
        "mapping values are not allowed",
        "unexpected ':' (is the line indented too far, or does text with ': ' need quotes?)",
    ),
    ("expected <block end>", "this line is indented differently from the lines above it"),
    ("could not find expected ':'", "expected 'key: value', found no ':'"),
    ("found undefined alias", ALIASES_REFUSED),
    ("did not find expected key", "expected 'key: value' (is this line indented wrongly?)"),
    ("did not find expected '-'", "expected a '- ' list item like the lines above it"),
    ("end of stream", "the file ends inside a quoted text or a [list] or {mapping}"),
)
_OPENERS = {
    "while scanning a quoted scalar": "a quote opened here is never closed",
    "while parsing a flow sequence": "a '[' opened here is not closed by ']'",
    "while parsing a flow mapping": "a '{' opened here is not closed by '}'",
    "while scanning a simple key": "expected 'key: value' on this line, found no ':'",
}


def explain_yaml_error(exc: yaml.YAMLError, lines: Sequence[str]) -> tuple[str, int | None]:
    """Return a YAML error in plain words and the 1-based line (of ``lines``) of the mistake.

    PyYAML reports where it gave up, which is often lines after the mistake: an unclosed
    quote is reported at the end of the file, a key without ':' on the next line.
    """
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"invalid YAML: {exc}", None
    problem, context = str(exc.problem or ""), str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    opened = exc.context_mark
    if context in _OPENERS and opened is not None:
        return f"invalid YAML: {_OPENERS[context]}", opened.line + 1
    words = next((plain for jargon, plain in _PLAIN_WORDS if jargon in problem), problem)
    if "mapping values are not allowed" in problem and line is not None:
        before = _previous_content_line(lines, line)
        if before is not None and ":" not in lines[before - 1]:
            return "invalid YAML: expected 'key: value', found no ':'", before
    return f"invalid YAML: {words}", line


def _previous_content_line(lines: Sequence[str], line: int) -> int | None:
    """Return the 1-based number of the last non-blank, non-comment line before ``line``."""
    for number in range(line - 1, 0, -1):
        text = lines[number - 1].strip() if number - 1 < len(lines) else ""
        if text and not text.startswith("#"):
            return number
    return None


def line_of(mapping: Any, key: str | None = None) -> int | None:
    """Return the line of ``key`` in a loaded mapping (else the line the mapping starts on)."""
    if not isinstance(mapping, dict):
        return None
    if key is not None and key in mapping.get(KEY_LINES, {}):
        return int(mapping[KEY_LINES][key])
    return mapping.get(LINE_KEY)


def line_of_item(mapping: Any, key: str, index: int) -> int | None:
    """Return the line of item ``index`` of the list under ``key`` (else the key's line)."""
    lines = mapping.get(ITEM_LINES, {}).get(key, []) if isinstance(mapping, dict) else []
    return int(lines[index]) if index < len(lines) else line_of(mapping, key)


def without_lines(value: Any) -> Any:
    """Return a plain copy of loaded YAML with the line bookkeeping removed."""
    if isinstance(value, dict):
        bookkeeping = (LINE_KEY, KEY_LINES, ITEM_LINES)
        return {k: without_lines(v) for k, v in value.items() if k not in bookkeeping}
    if isinstance(value, list):
        return [without_lines(v) for v in value]
    return value


def shown(value: object) -> str:
    """Describe a value for an error message: a mapping or a list by its kind, as the loader
    keeps each mapping's line numbers in it (its repr would show them)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
