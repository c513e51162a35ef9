"""The controller's pure parts: step plans, conditions, backoff; and the keyring's promises."""

from __future__ import annotations

import random
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenantry.backends.keys.keyring import KeyNotFound, Keyring
from tenantry.tenancy.controller import conditions
from tenantry.tenancy.controller.backoff import delay
from tenantry.tenancy.controller.plan import Verb, plan
from tenantry.tenancy.controller.resources import Kind, Resource

KEY = Resource(Kind.KEY, "acme", "acme", None)
DB = Resource(Kind.RELATIONAL, "t_acme__prod", "acme", "prod", "shared-schema")
OBJ = Resource(Kind.OBJECTS, "tenants/acme/prod/", "acme", "prod", "shared-prefix")
OLD = Resource(Kind.RELATIONAL, "t_acme__dev", "acme", "dev", "shared-schema")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_plan_ensures_missing_in_kind_order_then_retires_unwanted() -> None:
    steps = plan([OBJ, DB, KEY], existing={DB}, owned=[DB, OLD])
    assert [(s.verb, s.resource) for s in steps] == [
        (Verb.ENSURE, KEY),
        (Verb.ENSURE, OBJ),
        (Verb.RETIRE, OLD),
    ]
    assert plan([KEY, DB], existing={KEY, DB}, owned=[KEY, DB]) == []
    assert str(steps[0]) == "ensure key acme (acme/*)"


def test_resources_round_trip_through_json() -> None:
    for resource in (KEY, DB, OBJ):
        assert Resource.from_dict(resource.as_dict()) == resource


def test_conditions_keep_transition_time_while_status_holds() -> None:
    first = conditions.settle([], "ready", "ok", now=NOW)
    later = conditions.settle(first, "ready", "still ok", now=NOW + timedelta(hours=1))
    ready = next(c for c in later if c.type == "Ready")
    assert (ready.status, ready.last_transition_time, ready.message) == ("True", NOW, "still ok")
    degraded = conditions.settle(later, "degraded", "db down", now=NOW + timedelta(hours=2))
    by_type = {c.type: c for c in degraded}
    assert by_type["Ready"].status == "False"
    assert by_type["Degraded"].status == "True" and by_type["Degraded"].message == "db down"
    assert by_type["Failed"].status == "False"
    assert [c.type for c in degraded] == ["Degraded", "Failed", "Provisioning", "Ready"]


@pytest.mark.parametrize("attempt", [0, 1, 5, 40, 1000])
def test_backoff_is_capped_jitter(attempt: int) -> None:
    rng = random.Random(attempt)
    values = [delay(attempt, base=1.0, cap=30.0, rng=rng) for _ in range(200)]
    assert all(0 <= v <= min(30.0, 2.0 ** min(attempt, 32)) for v in values)
    assert len(set(values)) > 1


def test_keys_are_created_once_with_mode_0600(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path)
    assert keyring.create("acme") is True
    kid, key = keyring.active("acme")
    assert len(key) == 32
    assert keyring.create("acme") is False
    assert keyring.active("acme") == (kid, key)
    assert stat.S_IMODE(keyring.path("acme").stat().st_mode) == 0o600
    assert keyring.active("acme") != (None, b"") and keyring.tenants() == ["acme"]
    keyring.destroy("acme")
    with pytest.raises(KeyNotFound):
        keyring.active("acme")


def test_racing_creators_agree_on_one_key(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda _: keyring.create("acme"), range(32)))
    assert created.count(True) == 1
    assert list((tmp_path / "keys").iterdir()) == [keyring.path("acme")]
