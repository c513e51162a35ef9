"""Plans and effective limits: pure functions over :class:`LimitsSpec`.

The effective limits of a tenant are the built-in ``standard`` plan, overlaid with the plan the
bundle defines under the tenant's plan name (if it defines one), overlaid with the tenant's own
``limits:``. Overlaying is field by field, recursively: a plan that sets only ``rate`` keeps every
other built-in value, and an override of ``storage.objects.bytes`` keeps the objects count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final, TypeVar

from tenantry.tenancy.limits.schemas import LimitsSpec, Period, Resource, RouteClass

DEFAULT_PLAN: Final = "standard"
_MIB: Final = 1024**2
_GIB: Final = 1024**3
T = TypeVar("T")

BUILTIN_STANDARD: Final = LimitsSpec.model_validate(
    {
        "rate": 50.0,
        "burst": 100,
        "authoring_rate": 5.0,
        "authoring_burst": 10,
        "max_in_flight": 64,
        "max_flow_executions": 16,
        "max_connections": 32,
        "max_token_ttl": 86_400,
        "storage": {
            "sessions": {"bytes": _GIB, "count": 100_000},
            "objects": {"bytes": 10 * _GIB, "count": 100_000},
            "state": {"bytes": 256 * _MIB, "count": 100_000},
            "secrets": {"bytes": 16 * _MIB, "count": 1_000},
        },
        "ai_tokens": {"cap": 1_000_000, "period": "month"},
        "retention": {"purge_after": 30 * 86_400},
    }
)
"""The limits of the ``standard`` plan when the bundle defines none; the base of every plan."""

BUILTIN_PLANS: Final[Mapping[str, LimitsSpec]] = MappingProxyType({DEFAULT_PLAN: BUILTIN_STANDARD})


@dataclass(frozen=True, slots=True)
class RateLimit:
    rate: float  # requests per second
    burst: int  # requests that may arrive at once


@dataclass(frozen=True, slots=True)
class Quota:
    bytes: int
    count: int
    item_bytes: int | None


@dataclass(frozen=True, slots=True)
class AiCap:
    cap: int
    period: Period


@dataclass(frozen=True, slots=True)
class Limits:
    """A tenant's effective limits, every value set."""

    rates: Mapping[RouteClass, RateLimit]
    max_in_flight: int
    max_flow_executions: int
    max_connections: int  # long-polls and event streams open at once (per API process)
    max_token_ttl: timedelta  # the longest a token granting the tenant may live
    storage: Mapping[Resource, Quota]
    ai_tokens: AiCap
    purge_after: timedelta  # from a delete request to the purge of the tenant's data


def overlay(base: LimitsSpec | None, top: LimitsSpec | None) -> LimitsSpec:
    """``base`` with every value ``top`` sets replacing it, nested sections merged."""
    merged = _merge(_set_fields(base), _set_fields(top))
    return LimitsSpec.model_validate(merged)


def _set_fields(spec: LimitsSpec | None) -> dict[str, Any]:
    # Only the limits: a plan definition's other keys (``allows``) are not limits to merge.
    if spec is None:
        return {}
    return spec.model_dump(mode="json", exclude_none=True, include=set(LimitsSpec.model_fields))


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        both_sections = isinstance(below, dict) and isinstance(value, dict)
        merged[key] = _merge(below, value) if both_sections else value  # type: ignore[arg-type]
    return merged


def effective(plan: LimitsSpec | None, overrides: LimitsSpec | None = None) -> Limits:
    """The built-in defaults, then ``plan``, then ``overrides``: every limit resolved."""
    spec = overlay(overlay(BUILTIN_STANDARD, plan), overrides)
    return _resolved(spec)


def _resolved(spec: LimitsSpec) -> Limits:
    storage, ai, retention = _set(spec.storage), _set(spec.ai_tokens), _set(spec.retention)
    quotas = {}
    for resource in Resource:
        quota = _set(getattr(storage, resource.value))
        quotas[resource] = Quota(_set(quota.bytes), _set(quota.count), quota.item_bytes)
    default = RateLimit(_set(spec.rate), _set(spec.burst))
    # Authoring is the stricter class by definition: never looser than the default one.
    authoring = RateLimit(
        min(_set(spec.authoring_rate), default.rate), min(_set(spec.authoring_burst), default.burst)
    )
    return Limits(
        rates=MappingProxyType({RouteClass.DEFAULT: default, RouteClass.AUTHORING: authoring}),
        max_in_flight=_set(spec.max_in_flight),
        max_flow_executions=_set(spec.max_flow_executions),
        max_connections=_set(spec.max_connections),
        max_token_ttl=timedelta(seconds=_set(spec.max_token_ttl)),
        storage=MappingProxyType(quotas),
        ai_tokens=AiCap(_set(ai.cap), _set(ai.period)),
        purge_after=timedelta(seconds=_set(retention.purge_after)),
    )


def _set(value: T | None) -> T:
    # The built-in base sets every field, so nothing is None after overlaying on it.
    if value is None:
        raise AssertionError("an effective limit is unset; the built-in plan is incomplete")
    return value


def for_tenant(
    plan_name: str, overrides: LimitsSpec | None, plans: Mapping[str, LimitsSpec]
) -> LimitsSpec | None:
    """What a bundle stores as a tenant's ``limits``: its plan's definition in ``plans`` (if
    the bundle defines that plan) overlaid with the tenant's overrides; None if neither."""
    plan = plans.get(plan_name)
    if plan is None:
        return overrides
    return overlay(plan, overrides)


def known_plan(plan_name: str, plans: Mapping[str, LimitsSpec]) -> bool:
    return plan_name in plans or plan_name in BUILTIN_PLANS


def defined_plans(plans: Mapping[str, LimitsSpec]) -> str:
    """The plans a tenant may name, said for an error: the bundle's, then the built-in ones."""
    named = [*sorted(plans), *(f"{name} (built in)" for name in BUILTIN_PLANS if name not in plans)]
    return f"defined plans: {', '.join(named)}; a bundle defines others under 'plans:'"
