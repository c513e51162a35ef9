"""The isolation strategies: one pure function per profile (DESIGN.md section 4).

Adding a profile is adding a function to :data:`STRATEGIES`; no I/O code changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from tenantry.core import ids, names
from tenantry.tenancy.isolation.placement import (
    Messaging,
    MessagingPlacement,
    ObjectPlacement,
    Objects,
    Placement,
    Relational,
    RelationalPlacement,
)
from tenantry.tenancy.manifests.schemas import Profile

SHARED_POOL = "shared"


@dataclass(frozen=True, slots=True)
class Layout:
    """The deployment-wide names strategies place tenants into."""

    shared_stream: str = "tenantry_shared"  # the base name of the shared streams' shards
    shared_shards: int = 32  # fixed for a deployment: a tenant's shard comes from its ids
    bucket_prefix: str = "tenantry"
    subject_prefix: str = names.DEFAULT_SUBJECT_PREFIX

    def shared_stream_of(self, tenant: str, env: str) -> str:
        """The shared stream (shard) that holds an mt tenant environment's subjects."""
        key = f"{ids.tenant_id(tenant)}/{ids.env_id(env)}".encode()
        digest = hashlib.blake2b(key, digest_size=4).digest()
        return names.shared_stream(self.shared_stream, int.from_bytes(digest) % self.shared_shards)


Strategy = Callable[[str, str, Layout], Placement]


def _messaging(
    mode: Messaging, stream: str, tenant: str, env: str, layout: Layout
) -> MessagingPlacement:
    subjects = names.subject_filters(tenant, env, prefix=layout.subject_prefix)
    return MessagingPlacement(mode, stream, subjects)


def mt_standard(tenant: str, env: str, layout: Layout) -> Placement:
    """Shared everything, isolated by schema, prefix, subject filter and per-tenant key."""
    return Placement(
        tenant_id=tenant,
        env_id=env,
        profile=Profile.MT_STANDARD.value,
        relational=RelationalPlacement(
            Relational.SHARED_SCHEMA, names.sql_schema(tenant, env), names.sql_role(tenant, env)
        ),
        objects=ObjectPlacement(Objects.SHARED_PREFIX, None, names.object_prefix(tenant, env)),
        messaging=_messaging(
            Messaging.SHARED_STREAM, layout.shared_stream_of(tenant, env), tenant, env, layout
        ),
        runtime_pool=SHARED_POOL,
        key_ref=tenant,
    )


def st_dedicated(tenant: str, env: str, layout: Layout) -> Placement:
    """A database, bucket, stream and worker pool of the tenant environment's own."""
    return Placement(
        tenant_id=tenant,
        env_id=env,
        profile=Profile.ST_DEDICATED.value,
        relational=RelationalPlacement(
            Relational.DEDICATED_DATABASE,
            names.sql_database(tenant, env),
            names.sql_role(tenant, env),
        ),
        objects=ObjectPlacement(
            Objects.DEDICATED_BUCKET, names.bucket_name(layout.bucket_prefix, tenant, env), ""
        ),
        messaging=_messaging(
            Messaging.DEDICATED_STREAM, names.stream_name(tenant, env), tenant, env, layout
        ),
        runtime_pool=names.runtime_pool(tenant),
        key_ref=tenant,
    )


def st_byoc(tenant: str, env: str, layout: Layout) -> Placement:
    """Like st-dedicated, but relational data lives in the customer's database."""
    dedicated = st_dedicated(tenant, env, layout)
    relational = RelationalPlacement(
        Relational.EXTERNAL, names.byoc_dsn_secret(tenant, env), names.sql_role(tenant, env)
    )
    return Placement(
        tenant_id=tenant,
        env_id=env,
        profile=Profile.ST_BYOC.value,
        relational=relational,
        objects=dedicated.objects,
        messaging=dedicated.messaging,
        runtime_pool=dedicated.runtime_pool,
        key_ref=tenant,
    )


STRATEGIES: dict[Profile, Strategy] = {
    Profile.MT_STANDARD: mt_standard,
    Profile.ST_DEDICATED: st_dedicated,
    Profile.ST_BYOC: st_byoc,
}


def place(profile: Profile, tenant: str, env: str, layout: Layout | None = None) -> Placement:
    return STRATEGIES[profile](tenant, env, layout or Layout())
