"""Which role the owner's migration grants serving rights to, and which URL pairs it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tenantry.backends.postgres.control_roles import ensure_roles
from tenantry.bootstrap import services
from tenantry.core.errors import InvalidInput
from tenantry.core.settings import Settings
from tenantry.tenancy.audit.pruning_access import owner_engine
from tenantry.tenancy.registry.database import async_url, serving_role_of

SERVING = "postgresql://tenantry_app@db.internal:5432/control"


@pytest.mark.parametrize(
    ("owner", "granted"),
    [
        ("postgresql://tenantry_owner:secret@db.internal:5432/control", "tenantry_app"),
        ("postgresql://tenantry_owner@db.internal/control", "tenantry_app"),  # default port
        ("postgresql://tenantry_app@db.internal:5432/control", None),  # the same role
    ],
)
def test_the_serving_role_is_the_serving_urls_user(owner: str, granted: str | None) -> None:
    assert serving_role_of(make_url(async_url(SERVING)), owner) == granted


@pytest.mark.parametrize(
    ("serving", "owner", "reason"),
    [
        ("sqlite:///control.db", "postgresql://o@db.internal/control", "SQLite has no roles"),
        (SERVING, "sqlite:///control.db", "SQLite has no roles"),
        (SERVING, "postgresql://o@db.internal/other", "same server and database"),
        (SERVING, "postgresql://o@elsewhere/control", "same server and database"),
        (SERVING, "postgresql://o@db.internal:6543/control", "same server and database"),
        ("postgresql://db.internal/control", "postgresql://o@db.internal/control", "its user"),
    ],
)
def test_mismatched_urls_are_refused(serving: str, owner: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as refused:
        serving_role_of(make_url(async_url(serving)), owner)
    assert refused.value.code == "setting.invalid"


async def test_a_refused_owner_url_migrates_nothing(tmp_path: Path) -> None:
    control = tmp_path / "control.sqlite3"
    settings = Settings(
        database_url=f"sqlite:///{control}",
        database_owner_url="postgresql://o@127.0.0.1:1/control",
        data_dir=tmp_path / "data",
    )
    with pytest.raises(InvalidInput, match="SQLite has no roles"):
        async with services(settings):
            pass
    assert not control.exists() or control.stat().st_size == 0


def test_one_role_cannot_be_both_owner_and_server() -> None:
    with pytest.raises(InvalidInput, match="must differ"):
        ensure_roles("postgresql://admin@127.0.0.1:1/x", database="x", owner="a", serving="a")


async def test_the_prune_engine_is_the_owners_else_the_serving_one(tmp_path: Path) -> None:
    served = Settings(database_url=SERVING, data_dir=tmp_path)
    owned = served.model_copy(update={"database_owner_url": "postgresql://o@db.internal/control"})
    for settings, user in ((served, "tenantry_app"), (owned, "o")):
        engine = owner_engine(settings)
        assert engine.url.username == user
        await engine.dispose()
