"""Bodies of ``/api/v1/secrets``. Only :class:`SecretValueOut` ever carries a value."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantry.runtime.secrets import (
    Secret,
    SecretInfo,
    SecretTooLarge,
    SecretValueInvalid,
    VersionInfo,
)
from tenantry.tenancy.lifecycle.jobs import Job, JobState
from tenantry.tenancy.lifecycle.states import JobKind

Encoding = Literal["utf-8", "base64"]
VALUE_LIMIT: Final = 128 * 1024  # characters; the store caps the decoded bytes itself


class SecretWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(
        repr=False,
        description=f"At most {VALUE_LIMIT} characters.",
        json_schema_extra={"maxLength": VALUE_LIMIT},
    )
    encoding: Encoding = Field("utf-8", description="base64 for binary values.")

    def plaintext(self) -> bytes | str:
        # Checked here, not by a field constraint: a validation error would echo the value.
        if len(self.value) > VALUE_LIMIT:
            raise SecretTooLarge(
                f"the value is {len(self.value)} characters; this route takes at most "
                f"{VALUE_LIMIT}",
                details={"size": len(self.value), "limit": VALUE_LIMIT},
            )
        if self.encoding == "utf-8":
            return self.value
        try:
            return base64.b64decode(self.value, validate=True)
        except (binascii.Error, ValueError):  # ValueError: text that is not even ASCII
            raise SecretValueInvalid("the value is not valid base64") from None


class SecretVersionOut(BaseModel):
    name: str
    team_id: str | None = Field(description="null: the tenant scope.")
    version: int
    key_id: str
    size: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, info: VersionInfo) -> SecretVersionOut:
        return cls(
            name=info.name,
            team_id=info.team,
            version=info.version,
            key_id=info.kid,
            size=info.size,
            created_at=info.created_at,
            updated_at=info.updated_at,
        )


class SecretSummary(BaseModel):
    name: str
    team_id: str | None
    latest: int
    versions: list[int]
    key_id: str = Field(description="The key wrapping the latest version.")
    key_ids: list[str] = Field(description="Every key some version still needs.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, info: SecretInfo) -> SecretSummary:
        return cls(
            name=info.name,
            team_id=info.team,
            latest=info.latest,
            versions=list(info.versions),
            key_id=info.kid,
            key_ids=list(info.kids),
            created_at=info.created_at,
            updated_at=info.updated_at,
        )


class SecretList(BaseModel):
    items: list[SecretSummary]


class SecretVersions(BaseModel):
    items: list[SecretVersionOut]


class SecretValueOut(BaseModel):
    name: str
    team_id: str | None = Field(description="Where it was found (a team falls back to its tenant).")
    version: int
    created_at: datetime
    encoding: Encoding
    value: str = Field(repr=False)

    @classmethod
    def of(cls, secret: Secret) -> SecretValueOut:
        raw = secret.value.reveal()
        try:
            value, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            value, encoding = base64.b64encode(raw).decode("ascii"), "base64"
        return cls(
            name=secret.name,
            team_id=secret.team,
            version=secret.version,
            created_at=secret.created_at,
            encoding=encoding,
            value=value,
        )


class RotationJob(BaseModel):
    """The tenant's rotate-keys job, as its own admins see it."""

    id: str = Field(description="The job id.")
    kind: JobKind = Field(description="Always rotate-keys.")
    state: JobState
    progress: int = Field(description="Percent of its steps done.")
    requested_by: str
    correlation_id: str | None
    created_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="Why it failed, if it did.")

    @classmethod
    def of(cls, job: Job) -> RotationJob:
        return cls.model_validate(job.model_dump(include=set(cls.model_fields)))
