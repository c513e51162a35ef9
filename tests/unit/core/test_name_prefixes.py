"""The listing and bulk-delete prefixes: each covers exactly its own keys and paths."""

from __future__ import annotations

from hypothesis import given

from tenantry.core import names
from tests.unit.core.test_name_builders import envs, tenants

TEAMS = ["support", "sales", None]


@given(tenants, envs, tenants, envs)
def test_a_state_prefix_covers_its_keys_and_no_other_tenant_environment(
    tenant: str, env: str, other_tenant: str, other_env: str
) -> None:
    for team in TEAMS:
        key = names.state_key(tenant, env, team, "s1")
        assert key.startswith(names.state_prefix(tenant, env, team))
        assert key.startswith(names.state_prefix(tenant, env, every_team=True))
        if (other_tenant, other_env) != (tenant, env):
            assert not key.startswith(names.state_prefix(other_tenant, other_env, every_team=True))


@given(tenants, envs, tenants, envs)
def test_a_session_folder_covers_its_paths_and_no_other_tenant_environment(
    tenant: str, env: str, other_tenant: str, other_env: str
) -> None:
    for team in TEAMS:
        path = names.session_path(tenant, env, team, "s1")
        assert path.startswith(names.session_folder(tenant, env, team))
        assert path.startswith(names.session_folder(tenant, env, every_team=True))
        if (other_tenant, other_env) != (tenant, env):
            assert not path.startswith(
                names.session_folder(other_tenant, other_env, every_team=True)
            )


def test_team_prefixes_do_not_cover_a_team_whose_id_extends_them() -> None:
    assert not names.state_key("acme", "prod", "support-2", "s").startswith(
        names.state_prefix("acme", "prod", "support")
    )
    assert not names.session_path("acme", "prod", "support-2", "s").startswith(
        names.session_folder("acme", "prod", "support")
    )
