"""Idempotency keys: a POST made twice with one key runs once and answers the same twice.

A record is kept per (tenant, environment, credential, key), the credential being the principal,
the team it acts for and its role: another tenant's, principal's, team's or role's identical key
is another record, so a replay never answers a caller the first request's check did not admit.
:meth:`IdempotencyService.begin` either hands out the one :class:`Claim` to run the request
(inserting the record, or taking over an expired record or a claim whose lease lapsed because its
process died), or returns the stored response
of the same request, or refuses: a different request under the key is ``idempotency.key_reused``
and a duplicate arriving while the first still runs is ``idempotency.in_progress`` (409: the
client retries, and then gets the replay). Responses are sealed with the tenant's key, bound to
the record and the request's fingerprint, like every other record of tenant data.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import cbor2

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.core.logging import get_logger
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.rewrap import Outcome, RewrapReport
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.idempotency.errors import (
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    IdempotencyRecordUnreadable,
)
from tenantry.tenancy.idempotency.repository import (
    Attempt,
    Finished,
    RecordKey,
    SqlIdempotencyRecords,
    Stored,
)
from tenantry.tenancy.registry.database import SessionFactory

DEFAULT_TTL: Final = timedelta(hours=24)
# Longer than any request may run: a duplicate takes over a claim only after it lapses.
DEFAULT_LEASE: Final = timedelta(minutes=5)
KEY_LIMIT: Final = 255
KEY_CHARS: Final = r"[!#-\[\]-~]"  # visible ASCII but '"' and '\' (the header's sf-string)
# The header as sent: the key, or the key quoted as a structured-field string.
HEADER_PATTERN: Final = f'^(?:{KEY_CHARS}{{1,{KEY_LIMIT}}}|"{KEY_CHARS}{{1,{KEY_LIMIT}}}")$'
HEADER_LIMIT: Final = KEY_LIMIT + 2
_KEY = re.compile(f"{KEY_CHARS}+")
_FORMAT: Final = 1
_PURPOSE: Final = "idempotency"
_ROUNDS: Final = 3
_REWRAP_PAGE: Final = 500
_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What a replay answers: the first response's status, the headers that matter, the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to run one request; :meth:`IdempotencyService.complete` or ``release`` it."""

    record: RecordKey
    attempt: str
    binding: Binding
    sealer: Sealer


class Verdict(enum.Enum):
    REPLAY = "replay"
    RUNNING = "running"
    TAKE_OVER = "take_over"


def check_key(value: object) -> str:
    """An ``Idempotency-Key``: 1 to 255 visible ASCII characters but ``"`` and ``\\``; a
    structured-field string (``"..."``) is accepted and unquoted."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not isinstance(value, str) or not 0 < len(value) <= KEY_LIMIT or not _KEY.fullmatch(value):
        raise IdempotencyKeyInvalid(
            f"Idempotency-Key {ids.show(value)} must be 1 to {KEY_LIMIT} visible ASCII "
            "characters other than '\"' and '\\' (a UUID is a good key)"
        )
    return value


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request: method, path, query string and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def request_digest(*, principal: str, role: str, key: str, fingerprint: str) -> str:
    """One request made under an ``Idempotency-Key``, for a record kept elsewhere than this
    table (a tenant created over the API keeps the request that created it):
    ``{credential and key}:{fingerprint}``, two hex SHA-256 digests."""
    digest = hashlib.sha256()
    for part in (_credential(principal, "", role).encode(), check_key(key).encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"{digest.hexdigest()}:{fingerprint}"


def same_key(first: str, second: str) -> bool:
    """Whether two :func:`request_digest` values share their credential and key."""
    return first.split(":", 1)[0] == second.split(":", 1)[0]


def verdict(stored: Stored, *, fingerprint: str, now: datetime) -> Verdict:
    """What a new request under an existing record's key gets (pure)."""
    if stored.expires_at <= now:
        return Verdict.TAKE_OVER  # a forgotten key is a fresh key
    if not hmac.compare_digest(stored.fingerprint, fingerprint):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; "
            "use a new key for a new request"
        )
    if stored.status is not None:
        return Verdict.REPLAY
    return Verdict.TAKE_OVER if stored.lease_until <= now else Verdict.RUNNING


class IdempotencyService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        ttl: timedelta = DEFAULT_TTL,
        lease: timedelta = DEFAULT_LEASE,
        clock: Clock = utc_now,
    ) -> None:
        """``ttl``: how long a key is remembered; ``lease``: how long a claim may run."""
        if ttl <= timedelta(0) or lease <= timedelta(0):
            raise ValueError("an idempotency TTL and lease are positive durations")
        self._records = SqlIdempotencyRecords(sessions)
        self._ttl, self._lease, self._clock = ttl, lease, clock

    async def begin(
        self, scope: TenantScope, *, principal: str, role: str, key: str, fingerprint: str
    ) -> Claim | StoredResponse:
        """A claim to run the request, or the stored response of the same request made with
        the same credential (``principal`` acting for the scope's team with ``role``)."""
        ctx = scope.ctx
        credential = _credential(principal, ctx.team, role)
        record = RecordKey(ctx.tenant_id, ctx.env_id, credential, check_key(key))
        binding = Binding(ctx.tenant_id, ctx.env_id, _PURPOSE, _record_id(record, fingerprint))
        for _ in range(_ROUNDS):  # each round loses only to a request that changed the record
            attempt = self._attempt(fingerprint)
            claimed, stored = await self._records.claim(record, attempt)
            if claimed:
                return Claim(record, attempt.attempt, binding, scope.sealer)
            if stored is None:  # released or purged after the insert met it
                continue
            decided = verdict(stored, fingerprint=fingerprint, now=attempt.now)
            if decided is Verdict.REPLAY:
                return _opened(scope.sealer, binding, stored)
            if decided is Verdict.RUNNING:
                break
            if await self._records.take_over(record, previous=stored.attempt, attempt=attempt):
                return Claim(record, attempt.attempt, binding, scope.sealer)
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still running; retry shortly"
        )

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Store the response for replays (kept ``ttl`` from now)."""
        sealed = claim.sealer.seal(claim.binding, _pack(response))
        expires = self._clock() + self._ttl
        stored = await self._records.finish(
            claim.record,
            attempt=claim.attempt,
            status=response.status,
            response=sealed,
            expires_at=expires,
        )
        if not stored:  # its lease lapsed and a duplicate took the key over
            _log.warning("idempotency.claim_lost", tenant_id=claim.record.tenant_id)

    async def release(self, claim: Claim) -> None:
        """Forget the claim (the request failed and changed nothing): the key is free again."""
        await self._records.release(claim.record, attempt=claim.attempt)

    async def purge_expired(self) -> int:
        """Remove every expired record; how many went. Housekeeping only: an expired record
        is treated as absent whether or not it was purged."""
        return await self._records.purge(now=self._clock())

    async def rewrap(self, scope: TenantScope) -> RewrapReport:
        """Wrap every unexpired stored response of the scope's tenant environment with the
        tenant's active key (a key rotation); responses already on it are skipped, so a run
        may stop anywhere and run again. A record that changed meanwhile is left to its
        writer, who sealed it with the active key."""
        ctx = scope.ctx
        kid, after = scope.sealer.active_kid(ctx.tenant_id), None
        outcomes: Counter[Outcome] = Counter()
        failed: list[str] = []
        while page := await self._records.finished(
            ctx.tenant_id, ctx.env_id, now=self._clock(), after=after, limit=_REWRAP_PAGE
        ):
            for found in page:
                outcome = await self._rewrap_one(scope.sealer, found)
                outcomes[outcome] += 1
                if outcome is Outcome.FAILED:
                    failed.append(_record_id(found.record, found.fingerprint))
            after = page[-1].record
        rewrapped, current = outcomes[Outcome.REWRAPPED], outcomes[Outcome.CURRENT]
        _log.info("idempotency.rewrapped", tenant_id=ctx.tenant_id, kid=kid, rewrapped=rewrapped)
        return RewrapReport(kid, rewrapped, current, tuple(failed))

    async def _rewrap_one(self, sealer: Sealer, found: Finished) -> Outcome:
        record = found.record
        binding = Binding(
            record.tenant_id, record.env_id, _PURPOSE, _record_id(record, found.fingerprint)
        )
        try:
            sealed = sealer.rewrap_stale(binding, found.response)
        except Undecryptable:
            return Outcome.FAILED
        if sealed is None:
            return Outcome.CURRENT
        if not await self._records.replace_response(found, sealed):
            return Outcome.GONE
        return Outcome.REWRAPPED

    def _attempt(self, fingerprint: str) -> Attempt:
        now = self._clock()
        return Attempt(uuid.uuid4().hex, fingerprint, now, now + self._lease, now + self._ttl)


def _credential(principal: str, team: str, role: str) -> str:
    """The credential's digest (length-prefixed parts: distinct credentials never share one)."""
    digest = hashlib.sha256()
    for part in (principal.encode(), team.encode(), role.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _record_id(record: RecordKey, fingerprint: str) -> str:
    # Fixed-width digests at both ends keep the join injective whatever the key holds.
    return f"{record.principal}/{record.key}#{fingerprint}"


def _pack(response: StoredResponse) -> bytes:
    headers = [list(pair) for pair in response.headers]
    return cbor2.dumps([_FORMAT, response.status, headers, response.body])


def _opened(sealer: Sealer, binding: Binding, stored: Stored) -> StoredResponse:
    try:
        plain = sealer.open(binding, stored.response or b"")
    except Undecryptable as error:
        raise IdempotencyRecordUnreadable(
            "the response stored for this Idempotency-Key can no longer be read; use a new key",
        ) from error
    # Authenticated bytes this service wrote: the format is trusted once they open.
    _, status, headers, body = cbor2.loads(plain)
    return StoredResponse(status, tuple((name, value) for name, value in headers), body)
