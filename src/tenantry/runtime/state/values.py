"""JSON values and TTLs of the state store: checked before anything is written.

A value is plain JSON: ``null``, booleans, integers, finite floats, strings, arrays (lists or
tuples; read back as lists) and objects with string keys, nested at most :data:`MAX_DEPTH`
levels. It is stored as compact UTF-8 JSON, and the encoded size is what the tenant's cap limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, TypeAlias

from tenantry.runtime.state.errors import (
    StateCorrupt,
    StateTooLarge,
    StateTtlInvalid,
    StateValueInvalid,
)

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""What :meth:`StateStore.get` returns."""

JsonInput: TypeAlias = (
    bool | int | float | str | Sequence["JsonInput"] | Mapping[str, "JsonInput"] | None
)
"""What :meth:`StateStore.set` accepts (covariant, so ``dict[str, int]`` type-checks)."""

DEFAULT_MAX_VALUE_BYTES: Final = 256 * 1024
MAX_DEPTH: Final = 64
MAX_TTL_SECONDS: Final = 10 * 365 * 24 * 3600.0  # far enough; keeps milliseconds in 64 bits

_CONTAINERS = (dict, list, tuple)


def encode(value: object, *, limit: int) -> bytes:
    """The compact UTF-8 JSON of ``value``; raises if it is not JSON or over ``limit`` bytes."""
    if value is None:
        # get() answers None for a missing key; a stored null would be indistinguishable.
        raise StateValueInvalid("a state value may not be null; delete the key instead")
    if isinstance(value, _CONTAINERS):
        _check_containers(value, 0)
    try:
        data = json.dumps(
            value, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        ).encode()
    # TypeError: not a JSON type; ValueError: NaN or infinity, lone surrogates, 4,300-digit ints.
    except (TypeError, ValueError) as error:
        raise StateValueInvalid(f"the value is not JSON: {error}") from error
    if len(data) > limit:
        raise StateTooLarge(
            f"the value is {len(data)} bytes as compact JSON; this tenant's limit is {limit} bytes",
            details={"size": len(data), "limit": limit},
        )
    return data


def _check_containers(
    value: dict[object, object] | list[object] | tuple[object, ...], depth: int
) -> None:
    """What json.dumps would let through wrongly: non-string keys (it coerces them silently)
    and nesting too deep for other decoders. Scalars are left to json.dumps."""
    if depth >= MAX_DEPTH:
        raise StateValueInvalid(f"the value is nested deeper than {MAX_DEPTH} levels")
    members: Iterable[object] = value
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise StateValueInvalid(f"object keys must be strings, not {type(key).__name__}")
        members = value.values()
    for member in members:
        if isinstance(member, _CONTAINERS):
            _check_containers(member, depth + 1)


def decode(raw: bytes | str) -> JsonValue:
    try:
        value: JsonValue = json.loads(raw)
    except ValueError as error:
        raise StateCorrupt(f"a stored state value is not JSON: {error}") from error
    return value


def check_ttl(ttl: object) -> float | None:
    """``None`` (no expiry) or a finite number of seconds in ``(0, MAX_TTL_SECONDS]``."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise StateTtlInvalid(f"ttl must be a number of seconds, not {type(ttl).__name__}")
    if not (0 < ttl <= MAX_TTL_SECONDS):  # also false for NaN
        raise StateTtlInvalid(
            f"ttl must be more than 0 and at most {MAX_TTL_SECONDS:.0f} seconds, not {ttl!r}"
        )
    return float(ttl)


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"max_value_bytes must be a positive integer, not {limit!r}")
    return limit
