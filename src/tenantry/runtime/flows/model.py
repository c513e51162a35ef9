"""A flow as the runtime runs it: a name, a version and its nodes, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

MAX_REF: Final = 64


def parse_ref(ref: str) -> tuple[str, str | None]:
    """A binding's flow name and pinned version: ``support_flow@1.0`` -> (``support_flow``,
    ``1.0``); without ``@``, the version is None (the newest applied)."""
    name, _, version = ref.partition("@")
    return name, version or None


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    type: str  # reply ask set branch call llm handoff end
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    next: str | None = None  # None: the next node in the list (the last ends the turn)


@dataclass(frozen=True, slots=True)
class FlowDef:
    name: str
    version: str
    nodes: tuple[Node, ...]
    # What the engine derives once per flow object (typed configs, names its templates use).
    prepared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @classmethod
    def of(cls, definition: Mapping[str, Any]) -> FlowDef:
        """A flow from its manifest form (``name``, ``version``, ``nodes[{id, type, config,
        next}]``), already validated at apply."""
        nodes = tuple(
            Node(
                id=str(node["id"]),
                type=str(node["type"]),
                config=MappingProxyType(dict(node.get("config") or {})),
                next=node.get("next"),
            )
            for node in definition["nodes"]
        )
        return cls(str(definition["name"]), str(definition["version"]), nodes)
