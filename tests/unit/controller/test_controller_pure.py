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
from tenantry.tenancy.controller.conditions import Result
from tenantry.tenancy.controller.plan import Move, Verb, orphans, plan, recovered, serving
from tenantry.tenancy.controller.resources import Kind, Reason, Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Profile

KEY = Resource(Kind.KEY, "acme", "acme", None)
DB = Resource(Kind.RELATIONAL, "t_acme__prod", "acme", "prod", "shared-schema")
OBJ = Resource(Kind.OBJECTS, "tenants/acme/prod/", "acme", "prod", "shared-prefix")
OLD = Resource(Kind.RELATIONAL, "t_acme__dev", "acme", "dev", "shared-schema")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROFILE, GONE = Reason.PROFILE_CHANGED, Reason.ENVIRONMENT_REMOVED


ACME_PROD_MT = place(Profile.MT_STANDARD, "acme", "prod")
ACME_PROD_ST = place(Profile.ST_DEDICATED, "acme", "prod")
ACME_DEV_MT = place(Profile.MT_STANDARD, "acme", "dev")
MOVE = Move("prod", ACME_PROD_MT, ACME_PROD_ST)


def test_plan_ensures_missing_in_kind_order_and_orphans_unwanted() -> None:
    steps = plan([OBJ, DB, KEY], existing={DB}, owned=[DB, OLD], environments={"prod"})
    assert [(s.verb, s.resource, s.reason) for s in steps] == [
        (Verb.ENSURE, KEY, None),
        (Verb.ENSURE, OBJ, None),
        (Verb.ORPHAN, OLD, Reason.ENVIRONMENT_REMOVED),
    ]
    assert plan([KEY, DB], existing={KEY, DB}, owned=[KEY, DB], environments={"prod"}) == []
    assert str(steps[0]) == "ensure key acme (acme/*)"
    assert str(steps[2]) == (
        "orphan relational t_acme__dev (acme/dev): environment removed, "
        "left in place for the lifecycle's purge"
    )


# desired, existing, owned, environments, already orphaned -> (verb, resource, reason)
MATRIX = [
    ([], set(), [], set(), set(), []),
    ([KEY], set(), [], {"prod"}, set(), [(Verb.ENSURE, KEY, None)]),
    ([KEY, DB], {KEY, DB}, [KEY, DB, OBJ], {"prod"}, set(), [(Verb.ORPHAN, OBJ, PROFILE)]),
    ([KEY, DB], {KEY, DB}, [KEY, DB, OLD], {"prod"}, {OLD}, []),  # recorded already
    ([KEY, OLD], {KEY}, [KEY, OLD], {"dev"}, {OLD}, [(Verb.ENSURE, OLD, None)]),  # re-added
    ([], set(), [KEY, DB], set(), set(), [(Verb.ORPHAN, KEY, GONE), (Verb.ORPHAN, DB, GONE)]),
    (
        [DB],
        set(),
        [OLD],
        {"prod", "dev"},
        set(),
        [(Verb.ENSURE, DB, None), (Verb.ORPHAN, OLD, PROFILE)],
    ),
]


@pytest.mark.parametrize(("desired", "existing", "owned", "envs", "orphaned", "expected"), MATRIX)
def test_plan_never_removes(
    desired: list[Resource],
    existing: set[Resource],
    owned: list[Resource],
    envs: set[str],
    orphaned: set[Resource],
    expected: list[tuple[Verb, Resource, Reason | None]],
) -> None:
    steps = plan(desired, existing, owned, environments=envs, orphaned=orphaned)
    assert [(s.verb, s.resource, s.reason) for s in steps] == expected
    assert {v.value for v in Verb} == {"ensure", "keep", "orphan"}  # no verb removes
    assert all("retire" not in str(s) for s in steps)


def test_plan_keeps_what_waits_for_a_migration() -> None:
    steps = plan(
        [KEY, DB], existing={KEY, DB}, owned=[KEY, DB], environments={"prod"}, moves={DB: MOVE}
    )
    assert [(s.verb, s.resource, s.acts) for s in steps] == [(Verb.KEEP, DB, False)]
    assert str(steps[0]) == (
        "keep relational t_acme__prod (acme/prod): profile changed "
        "(mt-standard -> st-dedicated), moving it needs a migration"
    )


# targets, stored -> placements served, moves
SERVING = [
    ([ACME_PROD_MT], {}, [ACME_PROD_MT], []),  # new environment: its target
    ([ACME_PROD_MT], {"prod": ACME_PROD_MT}, [ACME_PROD_MT], []),
    ([ACME_PROD_ST], {"prod": ACME_PROD_MT}, [ACME_PROD_MT], [MOVE]),  # profile changed
    (
        [ACME_PROD_MT],
        {"prod": ACME_PROD_ST},
        [ACME_PROD_ST],
        [Move("prod", ACME_PROD_ST, ACME_PROD_MT)],
    ),
    ([ACME_PROD_MT], {"prod": ACME_PROD_MT, "dev": ACME_DEV_MT}, [ACME_PROD_MT], []),  # removed
    ([ACME_PROD_ST, ACME_DEV_MT], {"prod": ACME_PROD_MT}, [ACME_PROD_MT, ACME_DEV_MT], [MOVE]),
]


@pytest.mark.parametrize(("targets", "stored", "placements", "moves"), SERVING)
def test_environments_serve_on_their_stored_placement(
    targets: list[Placement],
    stored: dict[str, Placement],
    placements: list[Placement],
    moves: list[Move],
) -> None:
    assert serving(targets, stored) == (placements, moves)


ST_DB = Resource(Kind.RELATIONAL, "tenant_acme__prod", "acme", "prod", "dedicated-database")
MT_NEEDS = {DB, OBJ}
ST_NEEDS = {
    ST_DB,
    Resource(Kind.OBJECTS, "tenantry-acme--prod", "acme", "prod", "dedicated-bucket"),
}
CANDIDATES = [(ACME_PROD_MT, MT_NEEDS), (ACME_PROD_ST, ST_NEEDS)]


@pytest.mark.parametrize(
    ("left", "candidates", "found"),
    [
        ({DB, OBJ}, CANDIDATES, ACME_PROD_MT),
        ({ST_DB}, CANDIDATES, ACME_PROD_ST),  # a crash left only the database: still its own
        ({DB, ST_DB}, CANDIDATES, None),  # no single placement holds both
        ({OBJ}, [(ACME_PROD_ST, {OBJ, ST_DB}), (ACME_PROD_MT, {OBJ})], ACME_PROD_MT),  # exact wins
        ({DB}, [], None),
    ],
)
def test_a_removed_environment_recovers_its_placement(
    left: set[Resource],
    candidates: list[tuple[Placement, set[Resource]]],
    found: Placement | None,
) -> None:
    assert recovered(left, candidates) == found


def test_orphans_say_why() -> None:
    found = orphans([KEY, DB, OBJ, OLD], {KEY, DB}, {"prod"})
    assert found == {OBJ: PROFILE, OLD: GONE}
    assert list(found) == [OLD, OBJ]  # kind order, then environment


def test_resources_round_trip_through_json() -> None:
    for resource in (KEY, DB, OBJ):
        assert Resource.from_dict(resource.as_dict()) == resource


def test_conditions_keep_transition_time_while_status_holds() -> None:
    first = conditions.settle([], Result.READY, "ok", now=NOW)
    later = conditions.settle(first, Result.READY, "still ok", now=NOW + timedelta(hours=1))
    ready = next(c for c in later if c.type == "Ready")
    assert (ready.status, ready.last_transition_time, ready.message) == ("True", NOW, "still ok")
    degraded = conditions.settle(later, Result.DEGRADED, "db down", now=NOW + timedelta(hours=2))
    by_type = {c.type: c for c in degraded}
    assert by_type["Ready"].status == "False"
    assert by_type["Degraded"].status == "True" and by_type["Degraded"].message == "db down"
    assert by_type["Failed"].status == "False"
    assert [c.type for c in degraded] == ["Degraded", "Failed", "Provisioning", "Ready"]


def test_orphaned_and_migration_conditions_come_and_clear() -> None:
    assert conditions.held([], {}, [], now=NOW) == []  # a tenant that never had them
    marked = {c.type: c for c in conditions.held([], {OLD: GONE, OBJ: PROFILE}, [MOVE], now=NOW)}
    orphaned, moving = marked["Orphaned"], marked["MigrationRequired"]
    assert (orphaned.status, orphaned.reason) == ("True", "EnvironmentRemovedAndProfileChanged")
    assert "relational t_acme__dev (dev, environment removed)" in orphaned.message
    assert (moving.status, moving.reason) == ("True", "ProfileChanged")
    assert "prod: mt-standard -> st-dedicated" in moving.message
    later = NOW + timedelta(hours=1)
    cleared = {c.type: c for c in conditions.held(list(marked.values()), {}, [], now=later)}
    assert {t: (c.status, c.last_transition_time) for t, c in cleared.items()} == {
        "Orphaned": ("False", later),
        "MigrationRequired": ("False", later),
    }


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
    # No temporary copy is left; creators take the tenant's key lock.
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["acme.json", "acme.lock"]
