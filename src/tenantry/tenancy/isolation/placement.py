"""Where each resource of one tenant environment lives (DESIGN.md section 4).

A placement is pure data computed by a strategy; provisioners make it real. Every external name
in it comes from ``core/names.py``.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any


class Relational(enum.StrEnum):
    SHARED_SCHEMA = "shared-schema"  # a schema (and its owner role) in the shared database
    DEDICATED_DATABASE = "dedicated-database"  # a database (and its owner role)
    EXTERNAL = "external"  # the customer's database, reached through a DSN held as a secret


class Objects(enum.StrEnum):
    SHARED_PREFIX = "shared-prefix"
    DEDICATED_BUCKET = "dedicated-bucket"
    EXTERNAL = "external"


class Messaging(enum.StrEnum):
    SHARED_STREAM = "shared-stream"  # tenant-filtered consumers on the shared stream
    DEDICATED_STREAM = "dedicated-stream"


@dataclass(frozen=True, slots=True)
class RelationalPlacement:
    mode: Relational
    name: str  # schema or database name; for external, the secret that holds the DSN
    role: str


@dataclass(frozen=True, slots=True)
class ObjectPlacement:
    mode: Objects
    bucket: str | None  # None: the shared bucket
    prefix: str


@dataclass(frozen=True, slots=True)
class MessagingPlacement:
    mode: Messaging
    stream: str
    subjects: tuple[str, ...]  # the tenant environment's subject space


@dataclass(frozen=True, slots=True)
class Placement:
    tenant_id: str
    env_id: str
    profile: str
    relational: RelationalPlacement
    objects: ObjectPlacement
    messaging: MessagingPlacement
    runtime_pool: str
    key_ref: str  # the tenant's key-encryption key in the keyring (or the customer's key)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Placement:
        """The inverse of :meth:`as_dict` (a placement stored in the tenant's status)."""
        relational, objects, messaging = data["relational"], data["objects"], data["messaging"]
        return cls(
            tenant_id=data["tenant_id"],
            env_id=data["env_id"],
            profile=data["profile"],
            relational=RelationalPlacement(
                Relational(relational["mode"]), relational["name"], relational["role"]
            ),
            objects=ObjectPlacement(Objects(objects["mode"]), objects["bucket"], objects["prefix"]),
            messaging=MessagingPlacement(
                Messaging(messaging["mode"]), messaging["stream"], tuple(messaging["subjects"])
            ),
            runtime_pool=data["runtime_pool"],
            key_ref=data["key_ref"],
        )
