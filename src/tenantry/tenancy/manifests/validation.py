"""Validate a located document against a model; every Pydantic error becomes a located issue."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tenantry.core.ids import show
from tenantry.tenancy.manifests.errors import Issue
from tenantry.tenancy.manifests.schemas import FlowProblems
from tenantry.tenancy.manifests.source import PathKey, Positions

ModelT = TypeVar("ModelT", bound=BaseModel)
_KEY_MARKER = "[key]"


def validate(model: type[ModelT], data: Any, positions: Positions) -> ModelT | list[Issue]:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        issues: list[Issue] = []
        for detail in error.errors(include_url=False):
            issues += _issues(detail, positions)
        return issues


def _issues(detail: ErrorDetails, positions: Positions) -> list[Issue]:
    """One issue per problem: a flow's problems each at its own position."""
    cause = (detail.get("ctx") or {}).get("error")
    if not isinstance(cause, FlowProblems):
        return [_issue(detail, positions)]
    base = tuple(part for part in detail["loc"] if part != _KEY_MARKER)
    return [
        positions.issue(
            (*base, *problem.path), f"{_dotted((*base, *problem.path))}: {problem.message}"
        )
        for problem in cause.problems
    ]


def _issue(detail: ErrorDetails, positions: Positions) -> Issue:
    loc = tuple(detail["loc"])
    at_key = bool(loc) and (loc[-1] == _KEY_MARKER or detail["type"] == "extra_forbidden")
    path: PathKey = tuple(part for part in loc if part != _KEY_MARKER)
    where = _dotted(path)
    return positions.issue(
        path,
        f"{where}: {_message(detail, path)}" if where else _message(detail, path),
        at_key=at_key,
    )


def _message(detail: ErrorDetails, path: PathKey) -> str:
    kind = detail["type"]
    last = path[-1] if path else ""
    if kind == "extra_forbidden":
        return f"unknown key {last!r}"
    if kind == "missing":
        return f"missing required key {last!r}"
    if kind == "string_pattern_mismatch":
        pattern = (detail.get("ctx") or {}).get("pattern", "")
        return f"{show(detail['input'])} does not match the pattern {pattern}"
    return detail["msg"].removeprefix("Value error, ")


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
