"""The specification's examples load unchanged, alone and together."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Profile
from tests.conftest import EXAMPLE_BUNDLE, SHARED_SPEC_EXAMPLES, SPEC_EXAMPLES

EXAMPLES = sorted(SPEC_EXAMPLES.glob("*.yaml"))


def test_the_five_examples_are_present() -> None:
    assert [p.name for p in EXAMPLES] == [
        "acme_support_flow.yaml",
        "bigcorp_helpdesk_flow.yaml",
        "bundle.yaml",
        "team.yaml",
        "tenant.yaml",
    ]


@pytest.mark.skipif(not SHARED_SPEC_EXAMPLES.is_dir(), reason="no shared/ beside the checkout")
def test_the_copy_matches_the_specification() -> None:
    shared = sorted(SHARED_SPEC_EXAMPLES.glob("*.yaml"))
    assert [p.name for p in shared] == [p.name for p in EXAMPLES]
    for ours, theirs in zip(EXAMPLES, shared, strict=True):
        assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_checks_clean(path: Path) -> None:
    assert loader.check(path) == []


def test_bundle_example_loads_with_defaults() -> None:
    bundle = loader.load([SPEC_EXAMPLES / "bundle.yaml"])
    acme, bigcorp = bundle.tenants["acme"], bundle.tenants["bigcorp"]
    assert acme.name == "ACME Corporation"
    assert set(acme.teams) == {"support", "sales"}
    assert set(acme.teams["support"].channels) == {"slack", "telegram"}
    assert acme.teams["sales"].channels["teams"].provider == "messaging-teams"
    assert bigcorp.teams["helpdesk"].name is None
    assert set(bigcorp.teams["helpdesk"].channels) == {"webchat"}
    assert acme.profile is Profile.MT_STANDARD and acme.plan == "standard"
    assert [env.id for env in acme.environments] == ["prod"]


def test_tenant_and_team_files_load_together() -> None:
    bundle = loader.load([SPEC_EXAMPLES / "tenant.yaml", SPEC_EXAMPLES / "team.yaml"])
    acme = bundle.tenants["acme"]
    assert acme.settings == {"timezone": "America/New_York", "language": "en-US"}
    assert [(e.id, e.name) for e in acme.environments] == [
        ("prod", "Production"),
        ("staging", "Staging"),
    ]
    slack = acme.teams["support"].channels["slack"]
    assert slack.config == {"workspace_id": "T123456", "channel_id": "C789012"}
    assert acme.teams["support"].channels["telegram"].config == {"chat_id": "-1001234567890"}


def test_example_directory_bundle_binds_its_flows() -> None:
    bundle = loader.load([EXAMPLE_BUNDLE])
    acme, bigcorp = bundle.tenants["acme"], bundle.tenants["bigcorp"]
    assert set(acme.flows) == {"acme_support_flow"}
    assert set(bigcorp.flows) == {"bigcorp_helpdesk_flow"}
    assert bigcorp.profile is Profile.ST_DEDICATED
    assert bigcorp.teams["helpdesk"].channels["webchat"].flow == "bigcorp_helpdesk_flow"
    assert acme.flows["acme_support_flow"].nodes[0].config == {
        "message": "Welcome to ACME Support! How can I help?"
    }
