"""Sessions of one tenant environment, sealed per tenant, in a blob space.

A record lives at exactly ``names.session_path(tenant, env, team, session)`` and holds
``Sealer.seal(Binding(tenant, env, "session", path), cbor)``: the path (tenant, env, team and
session id) is authenticated, so bytes copied to another tenant's or session's path do not open.
The store is bound to one ``(tenant, env)``; every id it is given is validated and every path is
built by ``names``, so nothing passed in reaches another tenant's records. Updates are
optimistic: the caller's revision must be the stored one, checked by a conditional write.
An expired record reads as absent until :meth:`SessionStore.sweep_expired` removes it.

Every record counts against the tenant's session quota at its sealed size, from its creation
until it is deleted or swept (an expired record still takes room until then). The size of what
a write replaces is known from the read its conditional write already needs, so counting costs
no extra read; a delete without a revision reads the record's size first (one ``stat``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from tenantry.core import clock as clocks
from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput, TenantryError
from tenantry.core.logging import get_logger
from tenantry.runtime.blobs import (
    MAX_PAGE,
    BlobConflict,
    BlobNotFound,
    BlobSpace,
    BlobTooLarge,
    Page,
    retry_conflicts,
)
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.quota import UNLIMITED, StorageQuota, Stored, refused, stored
from tenantry.runtime.rewrap import RewrapReport, Walk, rewrap_space
from tenantry.runtime.sessions import codec
from tenantry.runtime.sessions.errors import (
    CursorInvalid,
    RevisionMismatch,
    SessionCorrupt,
    SessionExists,
    SessionNotFound,
    SessionTooLarge,
    StoredSessionTooLarge,
)
from tenantry.runtime.sessions.schemas import (
    ALL_TEAMS,
    AllTeams,
    FlowCursor,
    Session,
    SessionKey,
    TranscriptEntry,
)

DEFAULT_MAX_BYTES: Final = 1024 * 1024
READ_FLOOR: Final = 16 * 1024 * 1024  # stored records up to this stay readable if a cap shrinks
SEAL_OVERHEAD: Final = 1024  # envelope header, nonces and tags, with room to spare
_PATH_CACHE: Final = 4096
_log = get_logger(__name__)

Teams = str | None | AllTeams


class SessionStore:
    def __init__(
        self,
        tenant: str,
        env: str,
        space: BlobSpace,
        sealer: Sealer,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        default_ttl: timedelta | None = None,
        clock: clocks.Clock = clocks.utc_now,
        quota: StorageQuota = UNLIMITED,
    ) -> None:
        """``max_bytes`` caps a record's CBOR; ``default_ttl`` sets ``expires_at`` on create;
        ``quota`` is the tenant's storage quota."""
        if max_bytes <= 0:
            raise ValueError(f"a session size cap is a positive number of bytes, not {max_bytes}")
        self._tenant = ids.tenant_id(tenant)
        self._env = ids.env_id(env)
        self._space = space
        self._sealer = sealer
        self._max_bytes = max_bytes
        self._read_limit = max(max_bytes, READ_FLOOR) + SEAL_OVERHEAD
        self._default_ttl = default_ttl
        self._clock = clock
        self._quota = quota
        self._paths: dict[tuple[str | None, str], str] = {}

    async def create(
        self,
        team: str | None,
        session: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        cursor: FlowCursor | None = None,
        variables: Mapping[str, Any] | None = None,
        transcript: Sequence[TranscriptEntry] = (),
        ttl: timedelta | None = None,
    ) -> Session:
        """A new record at revision 1; :class:`SessionExists` if a live one has that id."""
        path = self._path(team, session)
        now = self._clock()
        ttl = ttl if ttl is not None else self._default_ttl
        record = Session(
            tenant_id=self._tenant,
            env_id=self._env,
            team_id=ids.DEFAULT_TEAM if team is None else ids.team_id(team),
            session_id=ids.session_id(session),
            channel_id=None if channel is None else ids.channel_id(channel),
            user_id=codec.user_id(user),
            cursor=cursor,
            variables=dict(variables or {}),
            transcript=tuple(transcript),
            created_at=now,
            updated_at=now,
            expires_at=None if ttl is None else now + ttl,
            revision=1,
        )
        sealed = self._seal(path, record)
        try:
            async with stored(self._quota, Stored.SESSIONS, old=None, new=len(sealed)):
                version = await self._space.put(path, sealed, if_absent=True)
        except TenantryError as error:
            # Taken, or no room for one more record: an expired record there is replaced.
            if not (isinstance(error, BlobConflict) or refused(error)):
                raise
            version = await self._replace_expired(path, sealed, now)
        return _stamped(record, path, version, len(sealed))

    async def _replace_expired(self, path: str, sealed: bytes, now: datetime) -> str:
        try:
            existing = await self._load(path)
        except SessionNotFound:  # none there (or removed meanwhile)
            existing = None
        if existing is not None and not existing.expired(now):
            raise SessionExists(f"session {_shown(path)} already exists")
        origin = None if existing is None else existing._origin
        old = None if origin is None else origin[3]
        try:
            async with stored(self._quota, Stored.SESSIONS, old=old, new=len(sealed)):
                if origin is None:
                    return await self._space.put(path, sealed, if_absent=True)
                return await self._space.put(path, sealed, if_match=origin[2])
        except BlobConflict as error:
            raise SessionExists(f"session {_shown(path)} already exists") from error

    async def get(self, team: str | None, session: str) -> Session:
        """The live record; :class:`SessionNotFound` when absent or expired."""
        path = self._path(team, session)
        record = await self._load(path)
        if record.expired(self._clock()):
            raise SessionNotFound(f"session {_shown(path)} has expired")
        return record

    async def list_keys(
        self, *, team: Teams = ALL_TEAMS, after: str | None = None, limit: int = 100
    ) -> Page[SessionKey]:
        """Session ids, sorted by team then id, without reading the records."""
        prefix = self._prefix(team)
        raw = await self._space.list(prefix, after=self._after(after), limit=limit)
        keys = tuple(key for key in map(self._key, raw) if key is not None)
        following = raw[-1][len(self._prefix(ALL_TEAMS)) :] if len(raw) == limit else None
        return Page(keys, following)

    async def list(
        self, *, team: Teams = ALL_TEAMS, after: str | None = None, limit: int = 100
    ) -> Page[Session]:
        """Live records, in :meth:`list_keys` order (expired and vanished ones left out)."""
        keys = await self.list_keys(team=team, after=after, limit=limit)
        found = await asyncio.gather(*(self._live(key) for key in keys.items))
        return Page(tuple(record for record in found if record is not None), keys.next_cursor)

    async def _live(self, key: SessionKey) -> Session | None:
        try:
            return await self.get(key.team_id, key.session_id)
        except SessionNotFound:
            return None

    async def update(self, session: Session, *, ttl: timedelta | None = None) -> Session:
        """Store ``session`` as its next revision (``ttl`` renews ``expires_at``).

        ``session.revision`` must be the stored revision, else :class:`RevisionMismatch`; a
        record just read is written conditionally on the version read, with no second read.
        """
        if (session.tenant_id, session.env_id) != (self._tenant, self._env):
            raise SessionNotFound(f"no session {ids.show(session.session_id)} here")
        path = self._path(session.team_id, session.session_id)
        now = self._clock()
        version, size = await self._expected_origin(path, session, now)
        expires = now + ttl if ttl is not None else session.expires_at
        record = replace(session, revision=session.revision + 1, updated_at=now, expires_at=expires)
        sealed = self._seal(path, record)
        try:
            version = await self._put_over(path, sealed, version, size)
        except BlobConflict:
            # A re-wrap rewrites a record and keeps its revision: write over that, once.
            try:
                version, size = await self._stored_origin(path, session)
                version = await self._put_over(path, sealed, version, size)
            except (BlobConflict, SessionNotFound) as error:
                raise RevisionMismatch(
                    f"session {_shown(path)} changed after revision {session.revision}"
                ) from error
        return _stamped(record, path, version, len(sealed))

    async def _put_over(self, path: str, sealed: bytes, version: str, size: int) -> str:
        async with stored(self._quota, Stored.SESSIONS, old=size, new=len(sealed)):
            return await self._space.put(path, sealed, if_match=version)

    async def restore(self, records: Sequence[Session]) -> int:
        """Store ``records`` exactly as given (revisions and times kept), over whatever is at
        their paths, counted against the quota at once: a lifecycle job bringing archived
        sessions back (idempotent). The environment must have no other writer meanwhile."""
        sealed = [(path, self._seal(path, record)) for path, record in self._restorable(records)]
        if not sealed:
            return 0
        before = [await self._stored_size(path) for path, _ in sealed]
        added = sum(len(data) for _, data in sealed) - sum(size or 0 for size in before)
        fresh = sum(1 for size in before if size is None)
        largest = max(len(data) for _, data in sealed)
        async with self._quota.reserve(Stored.SESSIONS, max(added, 0), fresh, item_bytes=largest):
            for path, data in sealed:
                await self._space.put(path, data)
        if added < 0:
            await self._quota.release(Stored.SESSIONS, -added, 0)
        return len(sealed)

    def _restorable(self, records: Sequence[Session]) -> Sequence[tuple[str, Session]]:
        for record in records:
            if (record.tenant_id, record.env_id) != (self._tenant, self._env):
                raise SessionNotFound(f"no session {ids.show(record.session_id)} here")
        return [(self._path(r.team_id, r.session_id), r) for r in records]

    async def _stored_size(self, path: str) -> int | None:
        try:
            return (await self._space.stat(path)).size
        except BlobNotFound:
            return None

    async def clear(self) -> int:
        """Remove every record of this environment (every team), expired or not, and give the
        room back at once; the count. For lifecycle jobs: nothing else may write meanwhile."""
        prefix, removed, freed, after = self._prefix(ALL_TEAMS), 0, 0, None
        while True:
            page = await self._space.list(prefix, after=after, limit=MAX_PAGE)
            for path in page:
                size = await self._stored_size(path)
                if size is not None and await self._space.delete(path):
                    removed, freed = removed + 1, freed + size
            if len(page) < MAX_PAGE:
                break
            after = page[-1]
        if removed:
            await self._quota.release(Stored.SESSIONS, freed, removed)
        return removed

    async def _expected_origin(self, path: str, session: Session, now: datetime) -> tuple[str, int]:
        """The blob version and stored size of ``session`` as stored at its revision."""
        if session._origin is not None and session._origin[:2] == (path, session.revision):
            if session.expired(now):
                raise SessionNotFound(f"session {_shown(path)} has expired")
            return session._origin[2], session._origin[3]
        return await self._stored_origin(path, session)

    async def _stored_origin(self, path: str, session: Session) -> tuple[str, int]:
        """The blob version and size stored now, if they are ``session`` at its revision (the
        same creation too: not a record made anew at that path)."""
        current = await self.get(session.team_id, session.session_id)
        same = (current.revision, current.created_at) == (session.revision, session.created_at)
        if not same or current._origin is None:
            raise RevisionMismatch(
                f"session {_shown(path)} is at revision {current.revision}, not {session.revision}"
            )
        return current._origin[2], current._origin[3]

    async def rewrap(self, *, after: str | None = None, limit: int | None = None) -> RewrapReport:
        """Wrap the data key of every record of this environment (expired ones too) with the
        tenant's active key; payloads and revisions stay. Records already on it are skipped, so
        a run may stop anywhere and run again: ``limit`` listed records at most, then go on
        from ``next_cursor`` (a :meth:`list_keys` cursor)."""
        self._after(after)  # refuses a malformed cursor
        prefix, quota = self._prefix(ALL_TEAMS), self._quota
        walk = Walk(self._space, prefix, self._is_record, self._read_limit, quota, Stored.SESSIONS)
        return await rewrap_space(
            walk,
            lambda path, sealed: self._sealer.rewrap_stale(self._binding(path), sealed),
            kid=self._sealer.active_kid(self._tenant),
            after=after,
            limit=limit,
        )

    async def delete(self, team: str | None, session: str, *, revision: int | None = None) -> bool:
        """Remove a record (only at ``revision`` if given) and give its room back; False when
        there was none."""
        path = self._path(team, session)
        if revision is None:
            return await retry_conflicts(lambda: self._delete_current(path))
        try:
            current = await self._load(path)
        except SessionNotFound:
            return False
        if current.revision != revision or current._origin is None:
            raise RevisionMismatch(
                f"session {_shown(path)} is at revision {current.revision}, not {revision}"
            )
        try:
            return await self._remove(path, current._origin[2], current._origin[3])
        except BlobConflict as error:
            raise RevisionMismatch(f"session {_shown(path)} changed meanwhile") from error

    async def _delete_current(self, path: str) -> bool:
        try:
            current = await self._space.stat(path)
        except BlobNotFound:
            return False
        return await self._remove(path, current.version, current.size)

    async def _remove(self, path: str, version: str, size: int) -> bool:
        """Delete the blob at ``version`` and release its ``size``; False if already gone."""
        if not await self._space.delete(path, if_match=version):
            return False  # removed meanwhile: that delete gave the room back
        await self._quota.release(Stored.SESSIONS, size)
        return True

    async def sweep_expired(self, now: datetime | None = None) -> int:
        """Remove every record expired at ``now`` (the clock's time by default) and give its
        room back; the count.

        A record renewed while the sweep runs is kept (the delete is conditional); records
        that do not open or decode are left for an operator and logged (and stay counted).
        """
        moment = self._clock() if now is None else now
        prefix, after, removed = self._prefix(ALL_TEAMS), None, 0
        while True:
            page = await self._space.list(prefix, after=after, limit=MAX_PAGE)
            for path in page:
                removed += await self._sweep_one(path, moment)
            if len(page) < MAX_PAGE:
                return removed
            after = page[-1]

    async def _sweep_one(self, path: str, now: datetime) -> int:
        if self._key(path) is None:
            return 0
        try:
            record = await self._load(path)
        except SessionNotFound:
            return 0
        except (SessionCorrupt, StoredSessionTooLarge, Undecryptable) as error:
            _log.warning("session.sweep_skipped", path=path, code=error.code)
            return 0
        if not record.expired(now) or record._origin is None:
            return 0
        try:
            return int(await self._remove(path, record._origin[2], record._origin[3]))
        except BlobConflict:
            return 0  # renewed meanwhile

    async def _load(self, path: str) -> Session:
        try:
            blob = await self._space.get(path, max_bytes=self._read_limit)
        except BlobNotFound as error:
            raise SessionNotFound(f"no session {_shown(path)}") from error
        except BlobTooLarge as error:
            raise StoredSessionTooLarge(f"stored session {_shown(path)} is too large") from error
        plain = self._sealer.open(self._binding(path), blob.data)
        record = codec.decode(plain)
        mine = (record.tenant_id, record.env_id) == (self._tenant, self._env)
        if not mine or self._path(record.team_id, record.session_id) != path:
            raise SessionCorrupt(f"session record at {_shown(path)} names another session")
        return _stamped(record, path, blob.version, len(blob.data))

    def _seal(self, path: str, record: Session) -> bytes:
        plain = codec.encode(record)
        if len(plain) > self._max_bytes:
            raise SessionTooLarge(
                f"session {_shown(path)} is {len(plain)} bytes as a record (CBOR, before "
                f"sealing); this tenant's limit is {self._max_bytes} bytes",
                details={"size": len(plain), "limit": self._max_bytes},
            )
        return self._sealer.seal(self._binding(path), plain)

    def _binding(self, path: str) -> Binding:
        return Binding(self._tenant, self._env, "session", path)

    def _path(self, team: str | None, session: str) -> str:
        if (team is not None and type(team) is not str) or type(session) is not str:
            return names.session_path(self._tenant, self._env, team, session)  # refuses
        path = self._paths.get((team, session))
        if path is None:  # the builder validates; paths already built need no second check
            path = names.session_path(self._tenant, self._env, team, session)
            if len(self._paths) >= _PATH_CACHE:
                self._paths.clear()
            self._paths[team, session] = path
        return path

    def _prefix(self, team: Teams) -> str:
        if isinstance(team, AllTeams):
            return names.session_folder(self._tenant, self._env, every_team=True)
        return names.session_folder(self._tenant, self._env, team)

    def _after(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        try:
            return self._prefix(ALL_TEAMS) + names.check_relative_key(cursor)
        except InvalidInput as error:
            raise CursorInvalid(f"session list cursor {ids.show(cursor)} is malformed") from error

    def _is_record(self, path: str) -> bool:
        return self._key(path) is not None

    def _key(self, path: str) -> SessionKey | None:
        """The session a listed path names, if it is one of this environment's (else None)."""
        try:
            tenant, env, team, session = names.parse_session_path(path)
        except InvalidInput:
            return None
        if (tenant, env) != (self._tenant, self._env):
            return None
        return SessionKey(team, session)


def _stamped(record: Session, path: str, version: str, size: int) -> Session:
    """Note what was read or written on a record this store just made (no copy: a session
    holds a whole transcript, and nobody else has this object yet)."""
    object.__setattr__(record, "_origin", (path, record.revision, version, size))
    return record


def _shown(path: str) -> str:
    _, _, team, session = names.parse_session_path(path)
    return f"{team}/{session}"
