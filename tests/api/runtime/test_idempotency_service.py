"""The idempotency service on both control databases: claims, leases, expiry, purge; and its
pure parts (key grammar, fingerprints, the verdict on an existing record)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.runtime.rewrap import RewrapReport
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.idempotency import service as service_module
from tenantry.tenancy.idempotency.errors import (
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)
from tenantry.tenancy.idempotency.repository import Stored
from tenantry.tenancy.idempotency.service import (
    Claim,
    IdempotencyService,
    StoredResponse,
    Verdict,
    check_key,
    fingerprint,
    verdict,
)
from tenantry.tenancy.registry.database import session_factory

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PRINT = fingerprint("POST", "/api/v1/sessions", "", b'{"session_id":"s1"}')
OTHER = fingerprint("POST", "/api/v1/sessions", "", b'{"session_id":"s2"}')
RESPONSE = StoredResponse(201, (("content-type", "application/json"),), b'{"ok":true}')


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def scope(tenants: Services) -> TenantScope:
    return await tenants.scopes.open(
        TenantCtx(tenant_id=ids.tenant_id("acme"), env_id=ids.env_id("prod"))
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tenants: Services, clock: Clock) -> IdempotencyService:
    return IdempotencyService(
        session_factory(tenants.engine),
        ttl=timedelta(hours=1),
        lease=timedelta(minutes=1),
        clock=clock,
    )


async def _claim(service: IdempotencyService, scope: TenantScope, print_: str = PRINT) -> Claim:
    outcome = await service.begin(
        scope, principal="user-1", role="team-member", key="k", fingerprint=print_
    )
    assert isinstance(outcome, Claim)
    return outcome


async def test_claim_complete_replay(service: IdempotencyService, scope: TenantScope) -> None:
    claim = await _claim(service, scope)
    with pytest.raises(IdempotencyInProgress):
        await service.begin(
            scope, principal="user-1", role="team-member", key="k", fingerprint=PRINT
        )
    with pytest.raises(IdempotencyKeyReused):
        await service.begin(
            scope, principal="user-1", role="team-member", key="k", fingerprint=OTHER
        )
    await service.complete(claim, RESPONSE)
    replay = await service.begin(
        scope, principal="user-1", role="team-member", key="k", fingerprint=PRINT
    )
    assert replay == RESPONSE
    with pytest.raises(IdempotencyKeyReused):
        await service.begin(
            scope, principal="user-1", role="team-member", key="k", fingerprint=OTHER
        )


async def test_a_released_claim_frees_the_key(
    service: IdempotencyService, scope: TenantScope
) -> None:
    await service.release(await _claim(service, scope))
    await _claim(service, scope, OTHER)  # a new request under the key: nothing was stored


async def test_a_lapsed_claim_is_taken_over_and_cannot_store(
    service: IdempotencyService, scope: TenantScope, clock: Clock
) -> None:
    stale = await _claim(service, scope)
    clock.now += timedelta(minutes=2)  # the first process died holding it
    with pytest.raises(IdempotencyKeyReused):  # a lapsed claim still names its request
        await service.begin(
            scope, principal="user-1", role="team-member", key="k", fingerprint=OTHER
        )
    fresh = await _claim(service, scope)
    assert fresh.attempt != stale.attempt
    await service.complete(stale, StoredResponse(500, (), b"late"))  # lost: ignored
    await service.release(stale)  # lost: ignored
    await service.complete(fresh, RESPONSE)
    assert (
        await service.begin(
            scope, principal="user-1", role="team-member", key="k", fingerprint=PRINT
        )
        == RESPONSE
    )


async def test_an_expired_record_is_a_fresh_key(
    service: IdempotencyService, scope: TenantScope, clock: Clock
) -> None:
    await service.complete(await _claim(service, scope), RESPONSE)
    clock.now += timedelta(hours=1, seconds=1)
    claim = await _claim(service, scope, OTHER)  # another request is fine once it is forgotten
    await service.complete(claim, StoredResponse(200, (), b"second"))
    clock.now += timedelta(hours=2)
    assert await service.purge_expired() == 1
    assert await service.purge_expired() == 0


async def test_records_are_per_tenant_environment_and_principal(
    tenants: Services, service: IdempotencyService, scope: TenantScope
) -> None:
    await _claim(service, scope)
    other = await tenants.scopes.open(
        TenantCtx(tenant_id=ids.tenant_id("bigcorp"), env_id=ids.env_id("prod"))
    )
    for where, principal in ((other, "user-1"), (scope, "user-2"), (scope, "user-1 ")):
        outcome = await service.begin(
            where, principal=principal, role="team-member", key="k", fingerprint=PRINT
        )
        assert isinstance(outcome, Claim)
    assert isinstance(
        await service.begin(
            scope, principal="user-1", role="team-member", key="K", fingerprint=PRINT
        ),
        Claim,
    )  # keys are case-sensitive


async def test_concurrent_begins_make_one_claim(
    service: IdempotencyService, scope: TenantScope
) -> None:
    async def attempt() -> str:
        try:
            outcome = await service.begin(
                scope, principal="p", role="team-member", key="race", fingerprint=PRINT
            )
        except IdempotencyInProgress:
            return "busy"
        return "claim" if isinstance(outcome, Claim) else "replay"

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    assert sorted(results) == ["busy"] * 9 + ["claim"]


def test_bad_settings_are_refused(tenants: Services) -> None:
    for ttl, lease in ((timedelta(0), timedelta(minutes=1)), (timedelta(hours=1), timedelta(-1))):
        with pytest.raises(ValueError, match="positive"):
            IdempotencyService(session_factory(tenants.engine), ttl=ttl, lease=lease)


def _stored(status: int | None, *, lease: int = 60, expires: int = 3600) -> Stored:
    return Stored(
        PRINT,
        "a" * 32,
        status,
        b"x",
        T0 + timedelta(seconds=lease),
        T0 + timedelta(seconds=expires),
    )


@pytest.mark.parametrize(
    ("stored", "given_print", "expected"),
    [
        (_stored(201), PRINT, Verdict.REPLAY),
        (_stored(None), PRINT, Verdict.RUNNING),
        (_stored(None, lease=0), PRINT, Verdict.TAKE_OVER),
        (_stored(201, expires=0), PRINT, Verdict.TAKE_OVER),
        (_stored(201, expires=0), OTHER, Verdict.TAKE_OVER),  # forgotten: any request
        (_stored(None, expires=0), OTHER, Verdict.TAKE_OVER),
    ],
)
def test_verdicts(stored: Stored, given_print: str, expected: Verdict) -> None:
    assert verdict(stored, fingerprint=given_print, now=T0) is expected


@pytest.mark.parametrize("stored", [_stored(None), _stored(None, lease=0), _stored(201)])
def test_another_request_under_a_live_record_is_reused(stored: Stored) -> None:
    with pytest.raises(IdempotencyKeyReused):
        verdict(stored, fingerprint=OTHER, now=T0)


def _valid(key: str) -> bool:
    return 0 < len(key) <= 255 and all(33 <= ord(c) <= 126 and c not in '"\\' for c in key)


@given(st.text(max_size=300) | st.text(st.characters(min_codepoint=32, max_codepoint=127)))
def test_keys_are_visible_ascii_without_quotes_or_backslashes(value: str) -> None:
    inner = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    try:
        key = check_key(value)
    except IdempotencyKeyInvalid:
        assert not _valid(inner)
        return
    assert _valid(key) and key == inner


_REQUESTS = st.tuples(
    st.sampled_from(["POST", "PUT"]),
    st.text(max_size=6),
    st.text(max_size=6),
    st.binary(max_size=6),
)


@given(_REQUESTS, _REQUESTS)
def test_fingerprints_tell_requests_apart(
    a: tuple[str, str, str, bytes], b: tuple[str, str, str, bytes]
) -> None:
    assert (fingerprint(*a) == fingerprint(*b)) == (a == b)


async def test_a_key_rotation_rewraps_stored_responses(
    service: IdempotencyService,
    scope: TenantScope,
    tenants: Services,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "_REWRAP_PAGE", 2)  # the cursor is used too
    for key in ("a", "b", "c"):
        claim = await service.begin(
            scope, principal="user-1", role="team-member", key=key, fingerprint=PRINT
        )
        assert isinstance(claim, Claim)
        await service.complete(claim, RESPONSE)
    await _claim(service, scope)  # a claim still running holds no response
    keyring = Keyring(tenants.settings.data_dir.resolve())
    old = keyring.kids("acme")[-1]
    new = keyring.rotate("acme")
    assert await service.rewrap(scope) == RewrapReport(new, rewrapped=3)
    keyring.retire("acme", old)
    for key in ("a", "b", "c"):
        replay = await service.begin(
            scope, principal="user-1", role="team-member", key=key, fingerprint=PRINT
        )
        assert replay == RESPONSE
    assert await service.rewrap(scope) == RewrapReport(new, current=3)
    clock.now += timedelta(hours=2)  # expired records are left to the purge
    assert await service.rewrap(scope) == RewrapReport(new)
