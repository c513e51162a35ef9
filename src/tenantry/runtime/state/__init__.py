"""State (working memory): JSON values per tenant environment, team and session."""

from __future__ import annotations

from tenantry.runtime.state.errors import (
    StateBusy,
    StateCorrupt,
    StateNotFound,
    StateTooLarge,
    StateTtlInvalid,
    StateValueInvalid,
)
from tenantry.runtime.state.keys import StateKeys
from tenantry.runtime.state.ports import StateBackend, StateStore
from tenantry.runtime.state.values import DEFAULT_MAX_VALUE_BYTES, JsonInput, JsonValue

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "JsonInput",
    "JsonValue",
    "StateBackend",
    "StateBusy",
    "StateCorrupt",
    "StateKeys",
    "StateNotFound",
    "StateStore",
    "StateTooLarge",
    "StateTtlInvalid",
    "StateValueInvalid",
]
