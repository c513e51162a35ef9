"""A policy as a bundle's ``policies:`` section defines it: residency, encryption, retention.

Every section is optional (an absent section checks nothing). Durations are seconds, or
``"90d"``-style strings as in ``limits:``. Unknown keys are manifest errors like everywhere else.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)

from tenantry.tenancy.limits.schemas import parse_duration

MAX_PERIOD: Final = 3650 * 86_400  # seconds: ten years, as for ``retention.purge_after``

PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)]
Period = Annotated[int, BeforeValidator(parse_duration), Field(ge=0, le=MAX_PERIOD)]
KeyAge = Annotated[int, BeforeValidator(parse_duration), Field(ge=1, le=MAX_PERIOD)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Unset means "not checked": stored policies show only what they say.
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


class ResidencySpec(_Strict):
    """Where the tenant's data may live: every backend it is placed on, and every region the
    tenant or its environments declare, must be one of ``regions``."""

    regions: list[Region] = Field(min_length=1, max_length=64)


class EncryptionSpec(_Strict):
    """A per-tenant key is required; past ``max_key_age`` (seconds) a ``rotate-keys`` is due."""

    tenant_key: bool = True
    max_key_age: KeyAge | None = None


class RetentionSpec(_Strict):
    """The least time (seconds) each kind of data is kept: audit records, an archive before
    its tenant may be deleted, a deleted tenant's data before its purge."""

    audit: Period | None = None
    archive: Period | None = None
    purge_after: Period | None = None


class PolicySpec(_Strict):
    """One named policy; tenants name it with ``policy:``."""

    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    residency: ResidencySpec | None = None
    encryption: EncryptionSpec | None = None
    retention: RetentionSpec | None = None
