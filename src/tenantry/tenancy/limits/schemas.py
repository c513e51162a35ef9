"""What a bundle says about limits: plan definitions and per-tenant overrides (one model).

Every field is optional: a plan names only what differs from the built-in ``standard`` plan,
and a tenant's ``limits:`` only what differs from its plan (``plans.effective`` merges them).
Unknown keys are manifest errors like everywhere else. Sizes are bytes, given as integers or
as ``"512MiB"``-style strings (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB); durations are seconds, as
integers or as ``"90s"``, ``"30m"``, ``"24h"``, ``"7d"``.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

_SIZE = re.compile(r"([0-9]{1,15})\s*([KMGT]i?B|B)?")
_UNITS: Final[dict[str | None, int]] = {
    None: 1,
    "B": 1,
    **{f"{p}B": 1000 ** (i + 1) for i, p in enumerate("KMGT")},
    **{f"{p}iB": 1024 ** (i + 1) for i, p in enumerate("KMGT")},
}
MAX_BYTES: Final = 2**53  # exact in every JSON number and Lua double on the way
MAX_COUNT: Final = 10**12
MAX_RATE: Final = 1_000_000.0
MAX_TOKEN_TTL: Final = 30 * 86_400  # seconds; longer-lived service access is an API key
MAX_PURGE_AFTER: Final = 3650 * 86_400  # seconds: ten years
_DURATION = re.compile(r"([0-9]{1,9})\s*([smhd]?)")
_DURATION_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


class Resource(enum.StrEnum):
    """A tenant's stored resources, each with a byte and a count quota."""

    SESSIONS = "sessions"
    OBJECTS = "objects"
    STATE = "state"
    SECRETS = "secrets"


class RouteClass(enum.StrEnum):
    """Rate-limit classes of routes; authoring (writing definitions) has the stricter limit."""

    DEFAULT = "default"
    AUTHORING = "authoring"


class Period(enum.StrEnum):
    DAY = "day"
    MONTH = "month"


def parse_size(value: object) -> object:
    """``"10MiB"`` -> 10485760; integers pass; anything else is left for the type check."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes, not a boolean")
    if not isinstance(value, str):
        return value
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a size: use bytes or e.g. '512MiB', '2GB'")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_duration(value: object) -> object:
    """``"24h"`` -> 86400 (seconds); integers pass; anything else is left for the type check."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds, not a boolean")
    if not isinstance(value, str):
        return value
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration: use seconds or e.g. '90s', '30m', '24h'")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


Size = Annotated[int, BeforeValidator(parse_size), Field(ge=0, le=MAX_BYTES)]
Count = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=MAX_COUNT)]
Slots = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=100_000)]
Burst = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=1_000_000)]
TokenTtl = Annotated[int, BeforeValidator(parse_duration), Field(ge=1, le=MAX_TOKEN_TTL)]
PurgeAfter = Annotated[int, BeforeValidator(parse_duration), Field(ge=0, le=MAX_PURGE_AFTER)]
Rate = Annotated[float, BeforeValidator(_no_bool), Field(gt=0, le=MAX_RATE, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Unset means "inherit": stored specs and plans show only what they set.
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


class QuotaSpec(_Strict):
    bytes: Size | None = None
    count: Count | None = None
    item_bytes: Size | None = None  # one write's largest size; none: only the total counts


class StorageSpec(_Strict):
    sessions: QuotaSpec | None = None
    objects: QuotaSpec | None = None
    state: QuotaSpec | None = None
    secrets: QuotaSpec | None = None


class AiTokensSpec(_Strict):
    cap: Count | None = None
    period: Period | None = None


class RetentionSpec(_Strict):
    purge_after: PurgeAfter | None = None  # seconds from a delete request to the purge


class LimitsSpec(_Strict):
    """A plan's limits, or a tenant's overrides of its plan's."""

    rate: Rate | None = None  # requests per second, sustained
    burst: Burst | None = None  # requests that may arrive at once
    authoring_rate: Rate | None = None
    authoring_burst: Burst | None = None
    max_in_flight: Slots | None = None  # concurrent requests, per API process
    max_flow_executions: Slots | None = None  # concurrent flow runs, across worker processes
    max_connections: Slots | None = None  # long-polls and event streams open, per API process
    max_token_ttl: TokenTtl | None = None  # seconds a token for the tenant may live at most
    storage: StorageSpec | None = None
    ai_tokens: AiTokensSpec | None = None
    retention: RetentionSpec | None = None


class Granularity(enum.StrEnum):
    TOTAL = "total"
    DAY = "day"
    HOUR = "hour"


class UsageBucket(BaseModel):
    start: datetime
    resource: str
    amount: int


class UsageReport(BaseModel):
    """A tenant's metered usage between ``from`` (inclusive) and ``to`` (exclusive)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    tenant_id: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    granularity: Granularity
    resource: str | None = None
    totals: dict[str, int]
    buckets: list[UsageBucket]


class Allowance(BaseModel):
    """Where a tenant stands against its AI token cap in the current period."""

    tenant_id: str
    period: str  # "2026-11" (monthly caps) or "2026-11-25" (daily caps)
    used: int
    cap: int
    remaining: int
    charged: bool = True  # False when the charge was a duplicate of an earlier one
