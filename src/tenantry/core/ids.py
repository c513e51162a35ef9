"""The identifier grammar (DESIGN.md section 2): reject, never repair.

One validator per id kind. A failed check raises :class:`InvalidId`, whose message names the id
kind, the rule broken and the offending value, escaped so that control characters, look-alike
Unicode and over-long input are shown safely in logs and terminals.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import NewType

from tenantry.core.errors import InvalidInput

TenantId = NewType("TenantId", str)
EnvId = NewType("EnvId", str)
TeamId = NewType("TeamId", str)
ChannelId = NewType("ChannelId", str)
SessionId = NewType("SessionId", str)
SecretName = NewType("SecretName", str)
FlowName = NewType("FlowName", str)
NodeId = NewType("NodeId", str)
MessageId = NewType("MessageId", str)

DEFAULT_TEAM = TeamId("default")
"""The team of a context that names none; ``None`` and ``"default"`` are the same team."""

_SHORT_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LONG_PATTERN = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_SHOWN_CHARS = 48


class IdKind(enum.Enum):
    TENANT = "tenant id"
    ENV = "environment id"
    TEAM = "team id"
    CHANNEL = "channel id"
    SESSION = "session id"
    SECRET = "secret name"  # noqa: S105 - a label, not a secret
    FLOW = "flow name"
    NODE = "node id"
    MESSAGE = "message id"


@dataclass(frozen=True, slots=True)
class _Grammar:
    pattern: re.Pattern[str]
    max_length: int
    separators: str
    reserved: frozenset[str] = frozenset()


_SHORT_SEPARATORS = "-"
_LONG_SEPARATORS = "_-"

_GRAMMARS: dict[IdKind, _Grammar] = {
    # "global" is the platform's secret namespace; a tenant by that name would share it.
    IdKind.TENANT: _Grammar(_SHORT_PATTERN, 32, _SHORT_SEPARATORS, frozenset({"global"})),
    IdKind.ENV: _Grammar(_SHORT_PATTERN, 16, _SHORT_SEPARATORS),
    IdKind.TEAM: _Grammar(_SHORT_PATTERN, 32, _SHORT_SEPARATORS),
    IdKind.CHANNEL: _Grammar(_SHORT_PATTERN, 32, _SHORT_SEPARATORS),
    IdKind.SESSION: _Grammar(_LONG_PATTERN, 64, _LONG_SEPARATORS),
    IdKind.SECRET: _Grammar(_LONG_PATTERN, 64, _LONG_SEPARATORS),
    IdKind.FLOW: _Grammar(_LONG_PATTERN, 64, _LONG_SEPARATORS),
    IdKind.NODE: _Grammar(_LONG_PATTERN, 64, _LONG_SEPARATORS),
    IdKind.MESSAGE: _Grammar(_LONG_PATTERN, 64, _LONG_SEPARATORS),
}


class InvalidId(InvalidInput):
    code = "id.invalid"

    def __init__(self, kind: IdKind, rule: str, value: object, explanation: str) -> None:
        shown = show(value)
        super().__init__(
            f"invalid {kind.value} {shown}: {explanation}",
            details={"id_kind": kind.name.lower(), "rule": rule, "value": shown},
        )
        self.id_kind = kind
        self.rule = rule


def show(value: object) -> str:
    """Quote a value for an error message: ASCII only, control characters escaped, truncated."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    head = value[:_SHOWN_CHARS].encode("unicode_escape").decode("ascii").replace('"', '\\"')
    tail = f"... ({len(value)} characters)" if len(value) > _SHOWN_CHARS else ""
    return f'"{head}{tail}"'


def rule_text(kind: IdKind) -> str:
    grammar = _GRAMMARS[kind]
    separators = " or ".join(f"'{s}'" for s in grammar.separators)
    return (
        f"lowercase ASCII letters and digits, single {separators} between them, "
        f"at most {grammar.max_length} characters"
    )


def pattern(kind: IdKind) -> str:
    """The grammar of ``kind`` as one anchored regular expression, reserved values excluded
    (the same in Python and ECMA-262), for documents such as the OpenAPI one; the length is
    :func:`max_length`. :func:`check` stays the authority: it also says which rule broke."""
    grammar = _GRAMMARS[kind]
    words = "|".join(re.escape(word) for word in sorted(grammar.reserved))
    reserved = f"(?!(?:{words})$)" if words else ""
    return f"^{reserved}(?:{grammar.pattern.pattern})$"


def max_length(kind: IdKind) -> int:
    return _GRAMMARS[kind].max_length


def check(kind: IdKind, value: object) -> str:
    """Return ``value`` if it is a valid id of ``kind``; raise :class:`InvalidId` otherwise."""
    grammar = _GRAMMARS[kind]
    if not isinstance(value, str):
        raise InvalidId(kind, "type", value, "must be a string")
    if not value:
        raise InvalidId(kind, "empty", value, "must not be empty")
    if len(value) > grammar.max_length:
        raise InvalidId(
            kind, "length", value, f"is {len(value)} characters, at most {grammar.max_length}"
        )
    if grammar.pattern.fullmatch(value) is None:
        raise _explain_mismatch(kind, grammar, value)
    if value in grammar.reserved:
        raise InvalidId(kind, "reserved", value, "is reserved by the platform")
    return value


def _explain_mismatch(kind: IdKind, grammar: _Grammar, value: str) -> InvalidId:
    for position, char in enumerate(value):
        if not (char.isascii() and (char.islower() or char.isdigit())) and (
            char not in grammar.separators
        ):
            return InvalidId(
                kind,
                "charset",
                value,
                f"character {show(char)} at position {position} is not allowed; "
                f"use {rule_text(kind)}",
            )
    return InvalidId(
        kind,
        "separator",
        value,
        f"separators may not lead, trail or follow one another; use {rule_text(kind)}",
    )


def tenant_id(value: object) -> TenantId:
    return TenantId(check(IdKind.TENANT, value))


def env_id(value: object) -> EnvId:
    return EnvId(check(IdKind.ENV, value))


def team_id(value: object) -> TeamId:
    return TeamId(check(IdKind.TEAM, value))


def channel_id(value: object) -> ChannelId:
    return ChannelId(check(IdKind.CHANNEL, value))


def session_id(value: object) -> SessionId:
    return SessionId(check(IdKind.SESSION, value))


def secret_name(value: object) -> SecretName:
    return SecretName(check(IdKind.SECRET, value))


def flow_name(value: object) -> FlowName:
    return FlowName(check(IdKind.FLOW, value))


def node_id(value: object) -> NodeId:
    return NodeId(check(IdKind.NODE, value))


def message_id(value: object) -> MessageId:
    return MessageId(check(IdKind.MESSAGE, value))
