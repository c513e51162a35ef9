"""Tenant secrets (DESIGN.md sections 3 and 6): namespaced, versioned, sealed per tenant."""

from __future__ import annotations

from tenantry.runtime.secrets.errors import (
    SecretKeyInUse,
    SecretKeyNotFound,
    SecretNotFound,
    SecretOwnerNotFound,
    SecretTooLarge,
    SecretValueInvalid,
    SecretVersionInvalid,
)
from tenantry.runtime.secrets.ports import KeyManager, SecretRecords
from tenantry.runtime.secrets.schemas import (
    RotationReport,
    Secret,
    SecretAddress,
    SecretInfo,
    VersionInfo,
)
from tenantry.runtime.secrets.service import PLATFORM_KEY_OWNER, PlatformSecrets, SecretStore
from tenantry.runtime.secrets.values import SecretValue
from tenantry.runtime.secrets.vault import ENV_MARKER, MAX_VALUE_BYTES

__all__ = [
    "ENV_MARKER",
    "MAX_VALUE_BYTES",
    "PLATFORM_KEY_OWNER",
    "KeyManager",
    "PlatformSecrets",
    "RotationReport",
    "Secret",
    "SecretAddress",
    "SecretInfo",
    "SecretKeyInUse",
    "SecretKeyNotFound",
    "SecretNotFound",
    "SecretOwnerNotFound",
    "SecretRecords",
    "SecretStore",
    "SecretTooLarge",
    "SecretValue",
    "SecretValueInvalid",
    "SecretVersionInvalid",
    "VersionInfo",
]
