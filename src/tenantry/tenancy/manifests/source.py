"""Safe YAML with positions.

PyYAML composes the document into a node tree that keeps each node's line and column; we turn it
into plain values ourselves so that we can refuse what a manifest never needs and an attacker
loves: anchors and aliases (the "billion laughs"), duplicate keys, non-scalar keys, deep nesting,
several documents, and files over a size cap. Every located value's position is kept in a
:class:`Positions` map keyed by its path, so schema errors can point at a line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from tenantry.tenancy.manifests.errors import Issue

MAX_FILE_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 64

# Text a manifest value may not hold, even written as an escape: control characters other than
# tab and line breaks, and lone surrogates (not Unicode: nothing downstream could store them).
_REFUSED_TEXT: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
PathKey = tuple[str | int, ...]
_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass(slots=True)
class Positions:
    """Where each value of a document sits: ``path -> (line, column)``, both 1-based."""

    file: str
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def issue(self, path: PathKey, message: str, *, at_key: bool = False) -> Issue:
        """An issue at the value (or key) at ``path``, or at its nearest located ancestor."""
        if at_key and path in self.keys:
            line, column = self.keys[path]
            return Issue(self.file, line, column, message)
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return Issue(self.file, mark[0], mark[1], message)
        return Issue(self.file, 0, 0, message)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed manifest; ``problems`` found while building it (duplicate keys, refused text)
    leave it usable for validation, so every problem of the file is reported at once."""

    data: Any
    positions: Positions
    problems: tuple[Issue, ...] = ()


class _Refusal(Exception):
    def __init__(self, node: yaml.Node | yaml.Event | None, message: str) -> None:
        super().__init__(message)
        self.mark: Any = node.start_mark if node is not None else None


class _Composer(yaml.SafeLoader):
    """A SafeLoader that refuses anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refusal(event, "anchors and aliases are not allowed in manifests")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refusal(event, f"nesting deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1


def read(path: Path, *, display: str | None = None) -> Document | list[Issue]:
    """Read one manifest file; an :class:`Issue` says why it cannot be used."""
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [Issue(name, 0, 0, f"file is {size} bytes, the limit is {MAX_FILE_BYTES}")]
        raw = path.read_bytes()
    except OSError as error:
        return [Issue(name, 0, 0, f"cannot read file: {error.strerror or error}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return [Issue(name, 0, 0, f"file is not UTF-8 (byte {error.start})")]
    return parse(text, name)


def parse(text: str, name: str) -> Document | list[Issue]:
    """Parse YAML text into a :class:`Document`, or say where and why it fails."""
    try:
        loader = _Composer(text)  # the reader refuses control characters here, comments too
    except yaml.reader.ReaderError as error:
        return [_unreadable(name, text, error)]
    try:
        return _compose(loader, name)
    except _Refusal as refusal:
        return [_issue_at(name, refusal.mark, str(refusal))]
    except yaml.reader.ReaderError as error:
        return [_unreadable(name, text, error)]
    except yaml.MarkedYAMLError as error:
        reason = "; ".join(filter(None, (error.context, error.problem))) or str(error)
        return [_issue_at(name, error.problem_mark, f"invalid YAML: {reason}")]
    except yaml.YAMLError as error:
        return [Issue(name, 0, 0, f"invalid YAML: {error}")]
    finally:
        loader.dispose()


def _compose(loader: _Composer, name: str) -> Document | list[Issue]:
    node = loader.get_single_node()
    if node is None:
        return [Issue(name, 1, 1, "the file is empty; a manifest is a YAML mapping")]
    if not isinstance(node, yaml.MappingNode):
        return [_issue_at(name, node.start_mark, "a manifest must be a YAML mapping")]
    builder = _Builder(loader, Positions(name))
    data = builder.value(node, ())
    return Document(data, builder.positions, tuple(builder.problems))


def _unreadable(name: str, text: str, error: yaml.reader.ReaderError) -> Issue:
    """A character YAML does not allow anywhere (not even in a comment), at its line:column."""
    position = max(0, min(error.position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = error.character if isinstance(error.character, int) else 0
    return Issue(
        name,
        line,
        column,
        f"control character U+{character:04X} is not allowed in a manifest, not even in a comment",
    )


def _text_problem(value: str) -> str | None:
    found = _REFUSED_TEXT.search(value)
    if found is None:
        return None
    return f"U+{ord(found.group()):04X} at character {found.start() + 1}"


def _issue_at(name: str, mark: Any, message: str) -> Issue:
    if mark is None:
        return Issue(name, 0, 0, message)
    return Issue(name, mark.line + 1, mark.column + 1, message)


@dataclass(slots=True)
class _Builder:
    loader: _Composer
    positions: Positions
    problems: list[Issue] = field(default_factory=list)

    def value(self, node: yaml.Node, path: PathKey) -> Any:
        self.positions.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _PLAIN_COLLECTION_TAGS and not isinstance(node, yaml.ScalarNode):
            raise _Refusal(node, f"the tag {node.tag!r} is not allowed in manifests")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self.loader.construct_object(node, deep=True)
        problem = _text_problem(value) if isinstance(value, str) else None
        if problem is None:
            return value
        self._refuse(node, f"a value may not hold a control character or lone surrogate: {problem}")
        return _REFUSED_TEXT.sub("\ufffd", value)  # still validated, for its other problems

    def _refuse(self, node: yaml.Node, message: str) -> None:
        self.problems.append(_issue_at(self.positions.file, node.start_mark, message))

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                raise _Refusal(key_node, "mapping keys must be plain scalars")
            key = str(key_node.value)  # the text as written: YAML 1.1 would read `on:` as True
            problem = _text_problem(key)
            if problem is not None:
                self._refuse(key_node, f"a key may not hold a control character: {problem}")
                continue
            if key in result:
                self.problems.append(
                    _issue_at(self.positions.file, key_node.start_mark, f"duplicate key {key!r}")
                )
                continue
            mark = key_node.start_mark
            self.positions.keys[(*path, key)] = (mark.line + 1, mark.column + 1)
            result[key] = self.value(value_node, (*path, key))
        return result
