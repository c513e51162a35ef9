"""``tenantry token`` and ``tenantry apikey`` through Typer's runner, on SQLite and PostgreSQL.

The commands are mounted on a root like ``cli.main``'s (the lead registers them there), and
``Services.access`` is supplied the way bootstrap will wire it.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.bootstrap import Services, services
from tenantry.cli import main, runner
from tenantry.cli.commands import manifests, tokens
from tenantry.core.clock import utc_now
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import GrantView, PrincipalKind
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.access.signing import verify
from tenantry.tenancy.registry import database
from tests.conftest import EXAMPLE_BUNDLE

cli = typer.Typer()
cli.callback()(main.root)
cli.command()(manifests.apply)
cli.add_typer(tokens.token_app, name="token")
cli.add_typer(tokens.apikey_app, name="apikey")
invoke = CliRunner().invoke


@dataclass(frozen=True)
class _WithAccess:
    built: Services
    access: AccessService

    def __getattr__(self, name: str) -> Any:
        return getattr(self.built, name)


@asynccontextmanager
async def _services(settings: Settings | None = None, **options: Any) -> AsyncIterator[Any]:
    async with services(settings, **options) as built:
        keys = SigningKeyring(built.settings.data_dir.resolve())
        yield _WithAccess(built, AccessService(database.session_factory(built.engine), keys))


@pytest.fixture
def tenantry(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(runner, "services", _services)
    data_dir = tmp_path / "data"

    def run(*args: str) -> tuple[int, str, str]:
        result = invoke(cli, ["--database-url", database_url, "--data-dir", str(data_dir), *args])
        return result.exit_code, result.stdout, result.stderr

    run.data_dir = data_dir  # type: ignore[attr-defined]
    code, _, err = run("apply", "-f", str(EXAMPLE_BUNDLE))
    assert code == 0, err
    yield run


def _claims(run: Any, token: str) -> Any:
    keys = SigningKeyring(run.data_dir.resolve())
    return verify(token, keys, now=utc_now(), leeway=timedelta(seconds=30))


def test_issue_prints_a_token_for_the_grant(tenantry: Any) -> None:
    code, out, err = tenantry(
        "token", "issue", "--tenant", "acme", "--team", "support", "--role", "team-member"
    )
    assert code == 0, err
    token = out.strip()
    assert token.count(".") == 2 and "\n" not in token
    claims = _claims(tenantry, token)
    assert claims.subject == f"cli:{getpass.getuser()}" and claims.kind is PrincipalKind.USER
    assert [(g.tenant_id, g.team_id, g.role.value) for g in claims.grants] == [
        ("acme", "support", "team-member")
    ]
    assert claims.expires_at - claims.issued_at == 3600


def test_issue_as_json_shows_the_claims(tenantry: Any) -> None:
    code, out, _ = tenantry(
        "token", "issue", "-t", "acme", "-r", "viewer", "--ttl", "90s",
        "--principal", "ci@acme", "--service", "-o", "json",
    )  # fmt: skip
    assert code == 0
    shown = json.loads(out)
    claims = shown["claims"]
    assert (claims["principal"], claims["kind"]) == ("ci@acme", "service")
    assert [GrantView(**g) for g in claims["grants"]] == [
        GrantView(tenant="acme", team=None, role="viewer")
    ]
    assert (
        _claims(tenantry, shown["token"]).expires_at - _claims(tenantry, shown["token"]).issued_at
        == 90
    )


def test_the_default_subject_is_the_operating_system_user(
    tenantry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "ann")
    code, out, err = tenantry("token", "issue", "-t", "acme", "-r", "viewer", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["claims"]["principal"] == "cli:ann"
    code, out, _ = tenantry("token", "issue", "-t", "acme", "-r", "viewer", "-p", "cli:bob")
    assert code == 0 and _claims(tenantry, out.strip()).subject == "cli:bob"

    def unknown() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", unknown)
    code, out, err = tenantry("token", "issue", "-t", "acme", "-r", "viewer")
    assert code == 2 and out == "" and "--principal" in err


def test_a_platform_admin_token(tenantry: Any) -> None:
    code, out, _ = tenantry("token", "issue", "--role", "platform-admin", "-p", "root")
    assert code == 0
    claims = _claims(tenantry, out.strip())
    assert claims.kind is PrincipalKind.PLATFORM_ADMIN and claims.grants == ()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--tenant", "nope", "--role", "viewer"), 3, "tenant.not_found"),
        (("--tenant", "acme", "--team", "ops", "--role", "viewer"), 3, "team.not_found"),
        (("--tenant", "ACME", "--role", "viewer"), 1, "id.invalid"),
        (("--tenant", "acme", "--role", "viewer", "--ttl", "31d"), 1, "token.ttl_invalid"),
        (("--tenant", "acme", "--role", "viewer", "--ttl", "soon"), 2, "soon"),
        (("--tenant", "acme", "--role", "viewer", "--ttl", "0"), 2, "duration"),
        (("--tenant", "acme", "--role", "owner"), 2, "owner"),
        (("--role", "viewer"), 1, "grant.invalid"),
        (("--tenant", "acme", "--role", "platform-admin"), 1, "grant.invalid"),
        (("--tenant", "acme", "--role", "viewer", "-p", "a b"), 1, "principal.invalid"),
        (("--tenant", "acme", "--role", "viewer", "-p", "operator"), 1, "principal.reserved"),
        (("--tenant", "acme", "--role", "viewer", "-p", "admin-token"), 1, "principal.reserved"),
        (("-t", "acme", "-r", "viewer", "-p", "apikey:0123456789abcdef"), 1, "principal.reserved"),
    ],
)
def test_issue_errors(tenantry: Any, args: tuple[str, ...], code: int, message: str) -> None:
    exit_code, out, err = tenantry("token", "issue", *args)
    assert exit_code == code and out == ""
    assert message in err


def test_revoke_a_token_by_its_id(tenantry: Any) -> None:
    code, out, _ = tenantry("token", "issue", "-t", "acme", "-r", "viewer", "-o", "json")
    jti = json.loads(out)["claims"]["jti"]
    code, out, err = tenantry("token", "revoke", jti)
    assert (code, out.strip()) == (0, f"revoked {jti}"), err
    assert tenantry("token", "revoke", jti)[0] == 0  # again: nothing changes
    code, _, err = tenantry("token", "revoke", "0" * 32)
    assert code == 3 and "token.not_found" in err
    code, _, err = tenantry("token", "revoke", "nope")
    assert code == 1 and "token.id_invalid" in err


def test_signing_keys_rotate_and_retire(tenantry: Any) -> None:
    _, before, _ = tenantry("token", "issue", "-t", "acme", "-r", "viewer")
    code, out, _ = tenantry("token", "keys", "-o", "json")
    [first] = json.loads(out)["items"]
    assert first["active"] is True
    code, new_kid, _ = tenantry("token", "rotate-key")
    assert code == 0
    _, out, _ = tenantry("token", "keys", "-o", "json")
    assert [k["kid"] for k in json.loads(out)["items"]] == [first["kid"], new_kid.strip()]
    _claims(tenantry, before.strip())  # still verifies
    assert tenantry("token", "retire-key", new_kid.strip())[0] == 4  # the active key
    assert tenantry("token", "retire-key", first["kid"])[0] == 0
    with pytest.raises(Exception, match="credential is not valid"):
        _claims(tenantry, before.strip())
    assert tenantry("token", "retire-key", "0" * 32)[0] == 3


def test_api_keys_create_list_revoke(tenantry: Any) -> None:
    code, secret, err = tenantry(
        "apikey", "create", "--tenant", "acme", "--role", "team-member", "--team", "support",
        "--name", "ci deploy",
    )  # fmt: skip
    assert code == 0 and secret.startswith("tnt_") and "not shown again" in err
    key_id = secret.split("_")[1]
    code, out, _ = tenantry("apikey", "list", "--tenant", "acme", "-o", "json")
    [listed] = json.loads(out)["items"]
    assert (listed["id"], listed["name"], listed["team"]) == (key_id, "ci deploy", "support")
    assert secret.strip() not in out
    code, table, _ = tenantry("apikey", "list", "--tenant", "acme")
    assert code == 0 and key_id in table and "ci deploy" in table
    assert tenantry("apikey", "revoke", "--tenant", "bigcorp", key_id)[0] == 3
    assert tenantry("apikey", "revoke", "--tenant", "acme", key_id)[0] == 0
    _, out, _ = tenantry("apikey", "list", "--tenant", "acme", "-o", "json")
    assert json.loads(out)["items"] == []
    _, out, _ = tenantry("apikey", "list", "--tenant", "acme", "--all", "-o", "json")
    assert json.loads(out)["items"][0]["revoked_at"] is not None
    assert tenantry("apikey", "revoke", "--tenant", "acme", "bad")[0] == 1


def test_help_explains(tenantry: Any) -> None:
    code, out, _ = tenantry("token", "issue", "--help")
    assert code == 0
    for word in ("--tenant", "--team", "--role", "--ttl", "--principal", "Bearer"):
        assert word in out
    assert "tenant-admin" in out
    code, out, _ = tenantry("apikey", "--help")
    assert code == 0 and "create" in out and "revoke" in out
