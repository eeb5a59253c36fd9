"""Reading YAML that users (or attackers) wrote, at a bounded cost.

`yaml.safe_load` is safe from code execution but not from cost: a 400-byte
alias bomb expands to billions of nodes in any code that walks the result,
10,000 nested brackets overflow Python's stack, and a repeated key silently
keeps the last value (so `min: 0.9` then `min: 0.0` passes everything). This
loader composes the node tree once with limits on size, depth, alias expansion
and duplicate keys, and only then builds Python values from it. Every mlci read
of a user's YAML file goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 4 << 20  # a config or dvc.lock is kilobytes; 4 MiB is already absurd
MAX_NODES = 200_000  # nodes as written (before aliases)
MAX_DEPTH = 64  # nesting of mappings and lists; mlci's deepest section needs 6
ALIAS_BUDGET = 10_000  # nodes that aliases may add on top of the nodes as written

MERGE_TAG = "tag:yaml.org,2002:merge"


class LimitError(ComposerError):
    """A limit of this loader was crossed; a MarkedYAMLError so callers that report
    YAML errors with their line (config.py) report these the same way."""


@dataclass(frozen=True)
class Loaded:
    """The values and the node tree they came from (None for an empty document)."""

    data: Any
    node: Node | None


def _path_text(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


class _Guard:
    """Composer overrides: count nodes, cap depth, refuse duplicate keys. Mixed in
    before a PyYAML loader class, whose pure-Python composer it replaces."""

    _nodes: int
    _path: list[str | int]

    def _enter(self, mark: Any) -> None:
        self._nodes = getattr(self, "_nodes", 0) + 1
        if self._nodes > MAX_NODES:
            raise LimitError(None, None, f"more than {MAX_NODES} values; expected a small "
                             "YAML file", mark)
        if len(self._where()) >= MAX_DEPTH:
            raise LimitError(None, None, f"{_path_text(self._where()[:3])}…: nested more than "
                             f"{MAX_DEPTH} levels deep", mark)

    def _where(self) -> list[str | int]:
        if not hasattr(self, "_path"):
            self._path = []
        return self._path

    def _open(self, kind: type[SequenceNode] | type[MappingNode], anchor: Any) -> Any:
        """PyYAML's start of a collection node, with our depth check: the composer's
        own methods are copied here only so that `_enter` runs before any child."""
        loader: Any = self
        start = loader.get_event()
        self._enter(start.start_mark)
        tag = start.tag
        if tag is None or tag == "!":
            tag = loader.resolve(kind, None, start.implicit)
        node = kind(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            loader.anchors[anchor] = node
        return node

    def compose_sequence_node(self, anchor: Any) -> SequenceNode:
        loader: Any = self
        node: SequenceNode = self._open(SequenceNode, anchor)
        while not loader.check_event(yaml.SequenceEndEvent):
            self._where().append(len(node.value))
            node.value.append(loader.compose_node(node, len(node.value)))
            self._where().pop()
        node.end_mark = loader.get_event().end_mark
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        loader: Any = self
        node: MappingNode = self._open(MappingNode, anchor)
        seen: dict[tuple[str, str], int] = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key = loader.compose_node(node, None)
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            self._refuse_duplicate(key, seen)
            self._where().append(name)
            node.value.append((key, loader.compose_node(node, key)))
            self._where().pop()
        node.end_mark = loader.get_event().end_mark
        return node

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        loader: Any = self
        self._enter(loader.peek_event().start_mark)
        node: ScalarNode = super().compose_scalar_node(anchor)  # type: ignore[misc]
        return node

    def _refuse_duplicate(self, key: Node, seen: dict[tuple[str, str], int]) -> None:
        if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
            return
        ident = (key.tag, str(key.value))
        line = key.start_mark.line + 1
        if ident in seen:
            where = _path_text([*self._where(), str(key.value)])
            raise LimitError(None, None, f"{where}: duplicate key {key.value!r} (first on "
                             f"line {seen[ident]}); expected each key once", key.start_mark)
        seen[ident] = line


class _SafeLoader(_Guard, yaml.SafeLoader):
    pass


class _StringLoader(_Guard, yaml.BaseLoader):
    pass


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_aliases(root: Node) -> None:
    """Refuse a tree whose aliases would expand it by more than ALIAS_BUDGET nodes, or
    that contains itself. Sizes are memoised per node, so this costs the tree as written."""
    size: dict[int, int] = {}
    started: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            started.discard(key)
            size[key] = min(1 + sum(size[id(child)] for child in _children(node)), 1 << 40)
            continue
        if key in size:
            continue
        if key in started:
            raise LimitError(None, None, "an alias refers to a node that contains it; "
                             "expected a tree", node.start_mark)
        started.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
    if size[id(root)] - len(size) > ALIAS_BUDGET:
        raise LimitError(None, None, f"aliases expand this file to {size[id(root)]:,} values; "
                         f"expected at most {ALIAS_BUDGET:,} more than written (an alias bomb?)",
                         root.start_mark)


def load_text(text: str, *, strings: bool = False) -> Loaded:
    """Parse one YAML document within the limits above. `strings`: every scalar stays the
    string as written (PyYAML's BaseLoader), e.g. for md5s that look like numbers.

    Raises yaml.YAMLError (LimitError for a crossed limit) with the line in its mark."""
    loader: Any = (_StringLoader if strings else _SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Loaded(data=None, node=None)
        _check_aliases(node)
        return Loaded(data=loader.construct_document(node), node=node)
    finally:
        loader.dispose()


def read_text(path: str | Path) -> str:
    """The file's text, refusing files over MAX_BYTES before reading them whole.

    Raises OSError, UnicodeDecodeError, or LimitError for an oversized file."""
    with open(path, "rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise LimitError(None, None, f"file is larger than {MAX_BYTES >> 20} MiB; expected a "
                         "small YAML file", None)
    return raw.decode("utf-8")


def load_file(path: str | Path, *, strings: bool = False) -> Loaded:
    return load_text(read_text(path), strings=strings)
