"""Strategies are pure: every profile places distinct tenant environments apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.tenancy.isolation.placement import Messaging, Objects, Relational
from tenantry.tenancy.isolation.strategies import SHARED_POOL, Layout, place
from tenantry.tenancy.manifests.schemas import Profile
from tests.unit.core.test_name_builders import envs, tenants

pairs = st.tuples(tenants, envs)


def test_mt_standard_shares_infrastructure_by_name() -> None:
    placement = place(Profile.MT_STANDARD, "acme", "prod")
    assert placement.relational.mode is Relational.SHARED_SCHEMA
    assert (placement.relational.name, placement.relational.role) == (
        "t_acme__prod",
        "tr_acme__prod",
    )
    assert placement.objects.mode is Objects.SHARED_PREFIX
    assert (placement.objects.bucket, placement.objects.prefix) == (None, "tenants/acme/prod/")
    assert placement.messaging.mode is Messaging.SHARED_STREAM
    assert placement.messaging.stream == Layout().shared_stream_of("acme", "prod")
    assert placement.messaging.stream.startswith("tenantry_shared_")
    assert placement.messaging.subjects == (
        "greentic.messaging.ingress.prod.acme.>",
        "greentic.messaging.egress.prod.acme.>",
    )
    assert (placement.runtime_pool, placement.key_ref) == (SHARED_POOL, "acme")


def test_st_dedicated_and_byoc_get_their_own() -> None:
    dedicated = place(Profile.ST_DEDICATED, "big-corp", "dev", Layout(bucket_prefix="data"))
    assert dedicated.relational.name == "tenant_big_corp__dev"
    assert dedicated.objects.bucket == "data-big-corp--dev"
    assert dedicated.messaging.stream == "tenantry_big_corp__dev"
    assert dedicated.runtime_pool == "tenant:big-corp"
    byoc = place(Profile.ST_BYOC, "big-corp", "dev")
    assert byoc.relational.mode is Relational.EXTERNAL
    assert byoc.relational.name == "big-corp/database_dsn_dev"
    assert byoc.messaging == place(Profile.ST_DEDICATED, "big-corp", "dev").messaging


@pytest.mark.parametrize("profile", list(Profile))
@given(a=pairs, b=pairs)
def test_distinct_tenant_environments_never_share_a_resource(
    profile: Profile, a: tuple[str, str], b: tuple[str, str]
) -> None:
    pa, pb = place(profile, *a), place(profile, *b)
    if a == b:
        assert pa == pb
        return
    assert pa.relational.name != pb.relational.name
    assert pa.relational.role != pb.relational.role
    assert (pa.objects.bucket, pa.objects.prefix) != (pb.objects.bucket, pb.objects.prefix)
    assert not set(pa.messaging.subjects) & set(pb.messaging.subjects)
    assert (pa.key_ref == pb.key_ref) == (a[0] == b[0])


@given(a=pairs)
def test_subject_filters_cover_exactly_their_tenant(a: tuple[str, str]) -> None:
    ingress, egress = place(Profile.MT_STANDARD, *a).messaging.subjects
    built = names.subject(names.Direction.INGRESS, a[0], a[1], "support", "slack")
    assert built.startswith(ingress.removesuffix(">"))
    assert egress.startswith("greentic.messaging.egress.")


def test_shared_streams_spread_tenants_over_a_fixed_number_of_shards() -> None:
    layout = Layout(shared_shards=8)
    streams = {layout.shared_stream_of(f"t{i}", "prod") for i in range(400)}
    assert streams == {f"tenantry_shared_{shard:02d}" for shard in range(8)}
    assert layout.shared_stream_of("acme", "prod") == layout.shared_stream_of("acme", "prod")
