"""Whether a flow can run: every problem of a definition, each with its path in the document.

Pure; ``tenancy.manifests`` turns the paths into ``file:line:col`` at validate and apply."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from tenantry.runtime.flows import schemas, templates

Path = tuple[str | int, ...]


class Problem(NamedTuple):
    path: Path  # relative to the flow document: ("nodes", 2, "config", "message")
    message: str


def check(nodes: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Every reason the flow of ``nodes`` (``{id, type, config, next}``) cannot run."""
    problems: list[Problem] = []
    known = {str(node.get("id")) for node in nodes}
    configs: list[BaseModel | None] = []
    for index, node in enumerate(nodes):
        config, found = _config(index, node)
        configs.append(config)
        problems += found
        problems += _references(index, node, config, known)
    if not problems:
        problems += _cycles(nodes, configs)
    return problems


def _config(index: int, node: Mapping[str, Any]) -> tuple[BaseModel | None, list[Problem]]:
    at: Path = ("nodes", index)
    kind = node.get("type")
    model = schemas.CONFIGS.get(str(kind))
    if model is None:
        known = " ".join(schemas.CONFIGS)
        return None, [Problem((*at, "type"), f"unknown node type {kind!r} (known: {known})")]
    try:
        config = model.model_validate(node.get("config") or {})
    except ValidationError as error:
        return None, [
            Problem((*at, "config", *e["loc"]), f"{kind} config: {_message(e)}")
            for e in error.errors(include_url=False)
        ]
    found = [Problem((*at, "config", *p), m) for p, m in _content(config)]
    return config, found


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    if error["type"] == "missing":
        return f"missing required key {error['loc'][-1]!r}"
    return str(error["msg"]).removeprefix("Value error, ")


def _content(config: BaseModel) -> Iterator[tuple[Path, str]]:
    """Templates that do not compile, regular expressions that do not either."""
    for path, source in templates_of(config):
        error = templates.syntax_error(source)
        if error is not None:
            yield path, error
    if isinstance(config, schemas.Branch):
        for index, case in enumerate(config.cases):
            yield from _case(index, case)


def _case(index: int, case: schemas.Case) -> Iterator[tuple[Path, str]]:
    if (case.keywords is None) == (case.regex is None):
        yield ("cases", index), "a case has either keywords or regex"
    if case.regex is not None:
        try:
            re.compile(case.regex)
        except re.error as error:
            yield ("cases", index, "regex"), f"bad regular expression: {error}"
            return
        if _NESTED.search(case.regex):
            yield (
                ("cases", index, "regex"),
                "a quantified group holding a quantifier (like (a+)+) can take exponential "
                "time on a crafted message; rewrite it without nesting",
            )


# A group with a +, * or {n,} inside, itself followed by +, * or {: the shape of the classic
# catastrophic-backtracking patterns. Python's re has no time limit, and branches run on
# messages anyone can send.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,)(?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,)")


_TEMPLATES = {
    schemas.Reply: ("message",),
    schemas.Ask: ("message",),
    schemas.Llm: ("prompt", "system", "base_url", "fallback"),
    schemas.Handoff: ("message", "reason"),
    schemas.End: ("message",),
    schemas.Call: ("url",),
}


def templates_of(config: BaseModel) -> Iterator[tuple[Path, str]]:
    for name in _TEMPLATES.get(type(config), ()):
        value = getattr(config, name)
        if isinstance(value, str):
            yield (name,), value
    if isinstance(config, schemas.Set):
        for group in ("variables", "state"):
            for key, value in getattr(config, group).items():
                yield (group, key), value
    if isinstance(config, schemas.Call):
        for key, value in config.headers.items():
            yield ("headers", key), value
        yield from _strings(("body",), config.body)


def _strings(path: Path, value: Any) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings((*path, str(key)), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings((*path, index), item)


def _references(
    index: int, node: Mapping[str, Any], config: BaseModel | None, known: set[str]
) -> list[Problem]:
    at: Path = ("nodes", index)
    nxt = node.get("next")
    if nxt is not None and node.get("type") in {"end", "handoff"}:
        return [Problem((*at, "next"), f"a {node.get('type')} node ends the turn: it has no next")]
    targets: list[tuple[Path, str]] = [] if nxt is None else [((*at, "next"), str(nxt))]
    if isinstance(config, schemas.Branch):
        targets += [
            ((*at, "config", "cases", i, "next"), c.next) for i, c in enumerate(config.cases)
        ]
        targets.append(((*at, "config", "default"), config.default))
    return [
        Problem(path, f"unknown next node {target!r}")
        for path, target in targets
        if target not in known
    ]


def successors(
    nodes: Sequence[Mapping[str, Any]], index: int, config: BaseModel | None
) -> list[str]:
    """The nodes a turn may go to from node ``index`` without waiting for the user."""
    node = nodes[index]
    if node.get("type") in schemas.STOPS:
        return []
    if isinstance(config, schemas.Branch):
        return [case.next for case in config.cases] + [config.default]
    if node.get("next") is not None:
        return [str(node["next"])]
    return [str(nodes[index + 1]["id"])] if index + 1 < len(nodes) else []


def _cycles(nodes: Sequence[Mapping[str, Any]], configs: list[BaseModel | None]) -> list[Problem]:
    """A loop a turn could run forever: a cycle that passes no ``ask``."""
    position = {str(node["id"]): index for index, node in enumerate(nodes)}
    graph = {i: [position[s] for s in successors(nodes, i, configs[i])] for i in range(len(nodes))}
    state: dict[int, int] = {}  # 1: on the path, 2: done

    def visit(start: int) -> int | None:
        stack: list[tuple[int, Iterator[int]]] = [(start, iter(graph[start]))]
        state[start] = 1
        while stack:
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[current] = 2
                stack.pop()
            elif state.get(child) == 1:
                return current
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(graph[child])))
        return None

    for index in range(len(nodes)):
        if index not in state:
            closing = visit(index)
            if closing is not None:
                node_id = nodes[closing]["id"]
                return [
                    Problem(
                        ("nodes", closing),
                        f"node {node_id!r} closes a cycle without an ask: a turn would never end",
                    )
                ]
    return []
