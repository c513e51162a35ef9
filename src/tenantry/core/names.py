"""The only builders of derived names (DESIGN.md sections 2 and 3).

Each builder validates its ids again, is injective over valid ids, and has a parser where the name
is ever read back. SQL names map ``-`` to ``_`` and join with ``__``: the grammar forbids ``_`` in
tenant and env ids and forbids doubled separators, so the mapping stays reversible. A context
without a team is the ``default`` team (:data:`tenantry.core.ids.DEFAULT_TEAM`).
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Final

from tenantry.core import ids
from tenantry.core.errors import InvalidInput

POSTGRES_NAME_LIMIT: Final = 63
DEFAULT_SUBJECT_PREFIX: Final = "greentic.messaging"
DEFAULT_EVENT_PREFIX: Final = "tenantry.events"
OBJECT_KEY_LIMIT: Final = 1024

_SQL_SCHEMA = "t_"
_SQL_DATABASE = "tenant_"
_SQL_ROLE = "tr_"
_STREAM = "tenantry_"
_PREFIX_TOKEN = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_BUCKET_PREFIX = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BUCKET_PREFIX_LIMIT: Final = 12  # 12 + 1 + 32 + 2 + 16 = 63, the S3 bucket name limit


class UnparseableName(InvalidInput):
    code = "name.unparseable"


def _sql_pair(prefix: str, tenant: str, env: str) -> str:
    name = f"{prefix}{ids.tenant_id(tenant)}__{ids.env_id(env)}".replace("-", "_")
    if len(name.encode()) > POSTGRES_NAME_LIMIT:  # unreachable with the grammar's limits
        raise AssertionError(f"SQL name {name!r} exceeds {POSTGRES_NAME_LIMIT} bytes")
    return name


def _parse_sql_pair(prefix: str, name: str, what: str) -> tuple[ids.TenantId, ids.EnvId]:
    body = name.removeprefix(prefix) if name.startswith(prefix) else None
    parts = body.split("__") if body is not None else []
    if len(parts) != 2 or "-" in name:
        raise UnparseableName(f"{ids.show(name)} is not a Tenantry {what} name")
    try:
        return ids.tenant_id(parts[0].replace("_", "-")), ids.env_id(parts[1].replace("_", "-"))
    except ids.InvalidId as error:
        raise UnparseableName(f"{ids.show(name)} is not a Tenantry {what} name") from error


def sql_schema(tenant: str, env: str) -> str:
    """``t_{tenant}__{env}``: the tenant environment's schema on the shared database."""
    return _sql_pair(_SQL_SCHEMA, tenant, env)


def parse_sql_schema(name: str) -> tuple[ids.TenantId, ids.EnvId]:
    return _parse_sql_pair(_SQL_SCHEMA, name, "schema")


def sql_database(tenant: str, env: str) -> str:
    """``tenant_{tenant}__{env}``: the tenant environment's dedicated database."""
    return _sql_pair(_SQL_DATABASE, tenant, env)


def parse_sql_database(name: str) -> tuple[ids.TenantId, ids.EnvId]:
    return _parse_sql_pair(_SQL_DATABASE, name, "database")


def sql_role(tenant: str, env: str) -> str:
    """``tr_{tenant}__{env}``: the role that owns the tenant environment's schema or database."""
    return _sql_pair(_SQL_ROLE, tenant, env)


def parse_sql_role(name: str) -> tuple[ids.TenantId, ids.EnvId]:
    return _parse_sql_pair(_SQL_ROLE, name, "role")


def _team(team: str | None) -> ids.TeamId:
    return ids.DEFAULT_TEAM if team is None else ids.team_id(team)


def session_path(tenant: str, env: str, team: str | None, session: str) -> str:
    """``sessions/{tenant}/{env}/{team}/{session}.cbor``, relative to the session root."""
    parts = (ids.tenant_id(tenant), ids.env_id(env), _team(team), ids.session_id(session))
    return "sessions/{}/{}/{}/{}.cbor".format(*parts)


def session_folder(
    tenant: str, env: str, team: str | None = None, *, every_team: bool = False
) -> str:
    """``sessions/{tenant}/{env}/{team}/`` (or ``sessions/{tenant}/{env}/`` for every team):
    the prefix that lists one team's (or the environment's) session paths."""
    head = f"sessions/{ids.tenant_id(tenant)}/{ids.env_id(env)}/"
    return head if every_team else f"{head}{_team(team)}/"


def parse_session_path(path: str) -> tuple[ids.TenantId, ids.EnvId, ids.TeamId, ids.SessionId]:
    parts = path.split("/")
    if len(parts) != 5 or parts[0] != "sessions" or not parts[4].endswith(".cbor"):
        raise UnparseableName(f"{ids.show(path)} is not a session path")
    try:
        return (
            ids.tenant_id(parts[1]),
            ids.env_id(parts[2]),
            ids.team_id(parts[3]),
            ids.session_id(parts[4].removesuffix(".cbor")),
        )
    except ids.InvalidId as error:
        raise UnparseableName(f"{ids.show(path)} is not a session path: {error}") from error


def state_key(tenant: str, env: str, team: str | None, session: str) -> str:
    """``state:{tenant}:{env}:{team|default}:{session}``."""
    parts = (ids.tenant_id(tenant), ids.env_id(env), _team(team), ids.session_id(session))
    return "state:{}:{}:{}:{}".format(*parts)


def state_prefix(
    tenant: str, env: str, team: str | None = None, *, every_team: bool = False
) -> str:
    """``state:{tenant}:{env}:{team|default}:`` (or ``state:{tenant}:{env}:`` for every team):
    the prefix of one team's (or the environment's) state keys, for bulk deletes."""
    head = f"state:{ids.tenant_id(tenant)}:{ids.env_id(env)}:"
    return head if every_team else f"{head}{_team(team)}:"


def state_ledger(tenant: str, env: str) -> tuple[str, str]:
    """``state-sizes:{tenant}:{env}`` and ``state-expiry:{tenant}:{env}``: the quota ledger of a
    tenant environment's state on Redis (a hash of counted sizes and a sorted set of expiry
    times, both by ``{team}:{session}``). Outside ``state:*``, so bulk deletes never reach it."""
    pair = f"{ids.tenant_id(tenant)}:{ids.env_id(env)}"
    return f"state-sizes:{pair}", f"state-expiry:{pair}"


def parse_state_key(key: str) -> tuple[ids.TenantId, ids.EnvId, ids.TeamId, ids.SessionId]:
    parts = key.split(":")
    if len(parts) != 5 or parts[0] != "state":
        raise UnparseableName(f"{ids.show(key)} is not a state key")
    try:
        return (
            ids.tenant_id(parts[1]),
            ids.env_id(parts[2]),
            ids.team_id(parts[3]),
            ids.session_id(parts[4]),
        )
    except ids.InvalidId as error:
        raise UnparseableName(f"{ids.show(key)} is not a state key: {error}") from error


class Direction(enum.Enum):
    INGRESS = "ingress"  # users' messages, towards the tenant's flows
    EGRESS = "egress"  # the flows' replies, towards the channels
    DEAD_LETTER = "deadletter"  # messages given up on, kept in the tenant's stream


def check_subject_prefix(prefix: str) -> str:
    tokens = prefix.split(".")
    if len(tokens) != 2 or not all(_PREFIX_TOKEN.fullmatch(token) for token in tokens):
        raise InvalidInput(
            f"subject prefix {ids.show(prefix)} must be two dot-separated lowercase tokens",
            code="setting.invalid",
        )
    return prefix


def subject(
    direction: Direction,
    tenant: str,
    env: str,
    team: str | None,
    channel: str,
    *,
    prefix: str = DEFAULT_SUBJECT_PREFIX,
) -> str:
    """``{prefix}.{ingress|egress}.{env}.{tenant}.{team}.{channel}``."""
    return ".".join(
        (
            check_subject_prefix(prefix),
            direction.value,
            ids.env_id(env),
            ids.tenant_id(tenant),
            _team(team),
            ids.channel_id(channel),
        )
    )


def parse_subject(
    value: str, *, prefix: str = DEFAULT_SUBJECT_PREFIX
) -> tuple[Direction, ids.TenantId, ids.EnvId, ids.TeamId, ids.ChannelId]:
    head = check_subject_prefix(prefix) + "."
    tokens = value.removeprefix(head).split(".") if value.startswith(head) else []
    directions = {d.value: d for d in Direction}
    if len(tokens) != 5 or tokens[0] not in directions:
        raise UnparseableName(f"{ids.show(value)} is not a messaging subject under {prefix}")
    try:
        return (
            directions[tokens[0]],
            ids.tenant_id(tokens[2]),
            ids.env_id(tokens[1]),
            ids.team_id(tokens[3]),
            ids.channel_id(tokens[4]),
        )
    except ids.InvalidId as error:
        raise UnparseableName(f"{ids.show(value)} is not a messaging subject: {error}") from error


MAX_SHARDS = 100
_SHARED_STREAM_BASE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def stream_name(tenant: str, env: str) -> str:
    """``tenantry_{tenant}__{env}``: the JetStream stream of a dedicated tenant environment."""
    return _sql_pair(_STREAM, tenant, env)


def parse_stream_name(name: str) -> tuple[ids.TenantId, ids.EnvId]:
    return _parse_sql_pair(_STREAM, name, "stream")


def shared_stream(base: str, shard: int) -> str:
    """``{base}_{shard:02d}``: one of the shared JetStream streams mt tenants are spread over.

    JetStream checks every subject of a stream against the others on each update, so one stream
    listing every tenant's subjects costs quadratic time; shards keep each list short.
    """
    if _SHARED_STREAM_BASE.fullmatch(base) is None or not 0 <= shard < MAX_SHARDS:
        raise InvalidInput(
            f"shared stream {ids.show(base)} shard {shard} is not a valid stream name "
            f"(base: lowercase letters, digits and '_', at most 32; shard below {MAX_SHARDS})",
            code="setting.invalid",
        )
    return f"{base}_{shard:02d}"


def object_prefix(tenant: str, env: str) -> str:
    """``tenants/{tenant}/{env}/``: the tenant environment's space in a shared bucket."""
    return f"tenants/{ids.tenant_id(tenant)}/{ids.env_id(env)}/"


def check_relative_key(key: object) -> str:
    """A relative object key: ``/``-separated, no empty, ``.`` or ``..`` segment, no control."""
    problem = _relative_key_problem(key)
    if problem is not None or not isinstance(key, str):
        raise InvalidInput(f"object key {ids.show(key)} {problem}", code="object_key.invalid")
    return key


def _relative_key_problem(key: object) -> str | None:
    if not isinstance(key, str) or not key:
        return "must be a non-empty string"
    if len(key.encode()) > OBJECT_KEY_LIMIT:
        return f"is longer than {OBJECT_KEY_LIMIT} bytes"
    if key.startswith("/"):
        return "must be relative (no leading '/')"
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in key):
        return "must not contain control characters or backslashes"
    if any(segment in {"", ".", ".."} for segment in key.split("/")):
        return "must not contain empty, '.' or '..' segments"
    return None


def object_key(tenant: str, env: str, key: str) -> str:
    """The full key of a tenant object in a shared bucket."""
    return object_prefix(tenant, env) + check_relative_key(key)


def bucket_name(prefix: str, tenant: str, env: str) -> str:
    """``{prefix}-{tenant}--{env}``: a dedicated tenant environment's bucket.

    ``--`` joins tenant and env because S3 bucket names allow no ``_``; the grammar forbids
    doubled separators inside ids, so the join stays injective.
    """
    if len(prefix) > _BUCKET_PREFIX_LIMIT or _BUCKET_PREFIX.fullmatch(prefix) is None:
        raise InvalidInput(
            f"bucket prefix {ids.show(prefix)} must be at most {_BUCKET_PREFIX_LIMIT} "
            "lowercase letters, digits and single hyphens",
            code="setting.invalid",
        )
    return f"{prefix}-{ids.tenant_id(tenant)}--{ids.env_id(env)}"


def parse_bucket_name(prefix: str, name: str) -> tuple[ids.TenantId, ids.EnvId]:
    body = name.removeprefix(prefix + "-") if name.startswith(prefix + "-") else ""
    parts = body.split("--")
    if len(parts) != 2:
        raise UnparseableName(f"{ids.show(name)} is not a bucket name under {prefix}")
    try:
        return ids.tenant_id(parts[0]), ids.env_id(parts[1])
    except ids.InvalidId as error:
        raise UnparseableName(f"{ids.show(name)} is not a bucket name: {error}") from error


def secret_path(name: str, *, tenant: str | None = None, team: str | None = None) -> str:
    """``global/{name}``, ``{tenant}/{name}`` or ``{tenant}/teams/{team}/{name}``."""
    secret = ids.secret_name(name)
    if tenant is None:
        if team is not None:
            raise InvalidInput("a team secret needs its tenant", code="secret.scope_invalid")
        return f"global/{secret}"
    owner = ids.tenant_id(tenant)
    return f"{owner}/{secret}" if team is None else f"{owner}/teams/{ids.team_id(team)}/{secret}"


def parse_secret_path(
    path: str,
) -> tuple[ids.TenantId | None, ids.TeamId | None, ids.SecretName]:
    """The inverse of :func:`secret_path`: ``(tenant, team, name)``; ``None`` for global."""
    parts = path.split("/")
    try:
        if len(parts) == 2 and parts[0] == "global":
            return None, None, ids.secret_name(parts[1])
        if len(parts) == 2:
            return ids.tenant_id(parts[0]), None, ids.secret_name(parts[1])
        if len(parts) == 4 and parts[1] == "teams":
            return ids.tenant_id(parts[0]), ids.team_id(parts[2]), ids.secret_name(parts[3])
    except ids.InvalidId as error:
        raise UnparseableName(f"{ids.show(path)} is not a secret path: {error}") from error
    raise UnparseableName(f"{ids.show(path)} is not a secret path")


def subject_filter(
    direction: Direction, tenant: str, env: str, *, prefix: str = DEFAULT_SUBJECT_PREFIX
) -> str:
    """``{prefix}.{direction}.{env}.{tenant}.>``: one direction of one tenant environment."""
    head, env_, tenant_ = check_subject_prefix(prefix), ids.env_id(env), ids.tenant_id(tenant)
    return f"{head}.{direction.value}.{env_}.{tenant_}.>"


def direction_filter(direction: Direction, *, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """``{prefix}.{direction}.>``: one direction of every tenant (a pool's wake-up listener)."""
    return f"{check_subject_prefix(prefix)}.{direction.value}.>"


def subject_filters(
    tenant: str, env: str, *, prefix: str = DEFAULT_SUBJECT_PREFIX
) -> tuple[str, str]:
    """The ingress and egress wildcards that cover exactly one tenant environment's subjects."""
    return (
        subject_filter(Direction.INGRESS, tenant, env, prefix=prefix),
        subject_filter(Direction.EGRESS, tenant, env, prefix=prefix),
    )


def dead_letter_subject(subject_: str, *, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """The dead-letter subject of a message subject: the same ids under ``deadletter``."""
    _, tenant, env, team, channel = parse_subject(subject_, prefix=prefix)
    return subject(Direction.DEAD_LETTER, tenant, env, team, channel, prefix=prefix)


def runtime_pool(tenant: str) -> str:
    """``tenant:{tenant}``: the dedicated worker pool of a single-tenant profile."""
    return f"tenant:{ids.tenant_id(tenant)}"


def flow_slots_key(tenant: str) -> str:
    """``flows:{tenant}``: a tenant's flow execution leases (Redis), shared by every worker."""
    return f"flows:{ids.tenant_id(tenant)}"


def session_seq_key(tenant: str, env: str, team: str | None, session: str) -> str:
    """``seq:{tenant}:{env}:{team|default}:{session}``: the counter numbering a session's
    messages at ingress (Redis key, or the embedded counter table's key)."""
    return f"seq:{ids.tenant_id(tenant)}:{ids.env_id(env)}:{_team(team)}:{ids.session_id(session)}"


def byoc_dsn_secret(tenant: str, env: str) -> str:
    """The secret path holding a bring-your-own-cloud tenant environment's database DSN."""
    return secret_path(f"database_dsn_{ids.env_id(env)}", tenant=tenant)


def sqlite_path(tenant: str, env: str) -> str:
    """``tenants/{tenant}/{env}.sqlite3``: an embedded tenant environment's database file."""
    return f"tenants/{ids.tenant_id(tenant)}/{ids.env_id(env)}.sqlite3"


def key_file(tenant: str) -> str:
    """``keys/{tenant}.json``: a tenant's key-encryption key in the local keyring."""
    return f"keys/{ids.tenant_id(tenant)}.json"


def subject_wildcard(tenant: str, env: str, *, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """``{prefix}.*.{env}.{tenant}.>``: every subject, either direction, of a tenant environment."""
    return f"{check_subject_prefix(prefix)}.*.{ids.env_id(env)}.{ids.tenant_id(tenant)}.>"


_CONSUMER_PREFIX: Final = {"ingress": "c_", "egress": "e_", "deadletter": "d_"}


def consumer_name(tenant: str, env: str, direction: Direction = Direction.INGRESS) -> str:
    """``c_|e_|d_{tenant}__{env}``: a tenant environment's durable consumer of one direction
    (ingress, egress, dead letters), on its shared or dedicated stream. The ingress consumer
    keeps the ``c_`` name the controller has always recorded as the tenant's messaging resource."""
    return _sql_pair(_CONSUMER_PREFIX[direction.value], tenant, env)


def bus_message_id(direction: Direction, tenant: str, env: str, message_id: str) -> str:
    """``{direction}.{tenant}.{env}.{message_id}``: the deduplication id of a message on the
    wire (``Nats-Msg-Id``). A shared stream deduplicates across all its tenants, so the id is
    confined to one direction of one tenant environment: a tenant choosing another's message
    ids cannot make the stream drop the other's messages as duplicates."""
    parts = (direction.value, ids.tenant_id(tenant), ids.env_id(env), ids.message_id(message_id))
    return "{}.{}.{}.{}".format(*parts)


_FILTER_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}|\*")
_QUEUE_GROUP = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_QUEUE_GROUP_LIMIT: Final = 64


def check_subject_filter(value: object, *, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """A live subject filter under ``prefix``: tokens of the id alphabet, ``*`` for one token,
    a final ``>`` for the rest; nothing else (a space or CR/LF would be a protocol injection)."""
    head = check_subject_prefix(prefix) + "."
    body = value.removeprefix(head) if isinstance(value, str) and value.startswith(head) else ""
    tokens = body.split(".")
    if tokens[-1] == ">":
        tokens = tokens[:-1]
    if not body or not all(_FILTER_TOKEN.fullmatch(token) for token in tokens):
        raise InvalidInput(
            f"subject filter {ids.show(value)} is not a filter under {prefix} "
            "(id tokens, '*' for one token, a final '>' for the rest)",
            code="subject_filter.invalid",
        )
    return str(value)


def check_any_filter(value: object, *, prefixes: tuple[str, ...]) -> str:
    """A live subject filter under one of ``prefixes`` (the messaging and the events prefix)."""
    for prefix in prefixes[:-1]:
        if isinstance(value, str) and value.startswith(check_subject_prefix(prefix) + "."):
            return check_subject_filter(value, prefix=prefix)
    return check_subject_filter(value, prefix=prefixes[-1])


def check_queue_group(value: object) -> str:
    """A live listeners' queue group: lowercase letters, digits, single ``_`` or ``-``."""
    if (
        not isinstance(value, str)
        or len(value) > _QUEUE_GROUP_LIMIT
        or _QUEUE_GROUP.fullmatch(value) is None
    ):
        raise InvalidInput(
            f"queue group {ids.show(value)} must be at most {_QUEUE_GROUP_LIMIT} lowercase "
            "letters, digits and single '_' or '-'",
            code="queue_group.invalid",
        )
    return value


_ROUTE_CLASS = re.compile(r"[a-z]+(?:-[a-z]+)*")
_ROUTE_CLASS_LIMIT: Final = 32


def limit_key(tenant: str, route_class: str) -> str:
    """``limit:{tenant}:{class}``: a tenant's rate-limit state for one route class (Redis)."""
    if len(route_class) > _ROUTE_CLASS_LIMIT or _ROUTE_CLASS.fullmatch(route_class) is None:
        raise InvalidInput(
            f"route class {ids.show(route_class)} must be at most {_ROUTE_CLASS_LIMIT} "
            "lowercase letters and single hyphens",
            code="route_class.invalid",
        )
    return f"limit:{ids.tenant_id(tenant)}:{route_class}"


_DOOR_KINDS: Final = frozenset({"credential", "address", "refusal"})
_DOOR_DIGEST = re.compile(r"[0-9a-f]{32}")


def door_limit_key(kind: str, digest: str) -> str:
    """``door:{kind}:{digest}``: the rate-limit state of one credential (all its requests, or
    its refused ones) or client address, named by a 32-hex-digit digest (never the credential
    or address itself)."""
    if kind not in _DOOR_KINDS or _DOOR_DIGEST.fullmatch(digest) is None:
        raise InvalidInput(
            f"a door key is one of {sorted(_DOOR_KINDS)} and 32 lowercase hex digits, "
            f"not {ids.show(kind)} {ids.show(digest)}",
            code="door_key.invalid",
        )
    return f"door:{kind}:{digest}"


_ARCHIVE_ID = re.compile(r"[0-9]{8}t[0-9]{6}z-[0-9a-f]{8}")
_ARCHIVE_FILE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}(?:/[a-z0-9][a-z0-9._-]{0,63}){0,3}")


def archive_id(moment: datetime, token: str) -> str:
    """``{yyyymmdd}t{hhmmss}z-{token}``: an archive's id, sorting by when it was made (UTC)."""
    made = f"{moment.astimezone(UTC):%Y%m%dt%H%M%Sz}-{token}"
    if _ARCHIVE_ID.fullmatch(made) is None:
        raise InvalidInput(f"archive token {ids.show(token)} is not 8 lowercase hex digits")
    return made


def check_archive_id(value: object) -> str:
    if not isinstance(value, str) or _ARCHIVE_ID.fullmatch(value) is None:
        raise InvalidInput(
            f"archive id {ids.show(value)} is not of the form 20261206t024636z-0123abcd",
            code="archive.id_invalid",
        )
    return value


def archive_prefix(tenant: str) -> str:
    """``archive/{tenant}/``: a tenant's archive area, in the object backend's shared space."""
    return f"archive/{ids.tenant_id(tenant)}/"


def archive_key(archive: str, file: str) -> str:
    """``{archive_id}/{file}``: one file of one archive, relative to the tenant's archive area
    (so at ``archive/{tenant}/{archive_id}/{file}``). Files are lowercase paths of at most
    four segments (``manifest.json``, ``prod/objects/000001``)."""
    if not isinstance(file, str) or _ARCHIVE_FILE.fullmatch(file) is None:
        raise InvalidInput(f"archive file name {ids.show(file)} is not valid")
    return f"{check_archive_id(archive)}/{check_relative_key(file)}"


def parse_archive_key(key: str) -> tuple[str, str]:
    """The inverse of :func:`archive_key`: ``(archive_id, file)``."""
    archive, _, file = key.partition("/")
    try:
        archive_key(archive, file)
    except InvalidInput as error:
        raise UnparseableName(f"{ids.show(key)} is not an archive file key") from error
    return archive, file


# -- tenancy events (issue 13) --
# Events live under a prefix of their own: every tenant environment's stream lists
# ``{prefix}.*.{env}.{tenant}.>``, which would overlap any subject under the messaging prefix.
_EVENT_TYPE = re.compile(r"[a-z]+(?:\.[a-z]+){1,5}")


def event_subject(tenant: str, event_type: str, *, prefix: str = DEFAULT_EVENT_PREFIX) -> str:
    """``{prefix}.{tenant}.{type}``: where a tenant's event of ``type`` is published
    (``tenantry.events.acme.tenancy.tenant.suspended``)."""
    if not isinstance(event_type, str) or _EVENT_TYPE.fullmatch(event_type) is None:
        raise InvalidInput(
            f"event type {ids.show(event_type)} must be dot-separated lowercase words",
            code="event_type.invalid",
        )
    return f"{check_subject_prefix(prefix)}.{ids.tenant_id(tenant)}.{event_type}"


def parse_event_subject(
    value: str, *, prefix: str = DEFAULT_EVENT_PREFIX
) -> tuple[ids.TenantId, str]:
    """The inverse of :func:`event_subject`: ``(tenant, type)``."""
    head = check_subject_prefix(prefix) + "."
    body = value.removeprefix(head) if value.startswith(head) else ""
    tenant, _, event_type = body.partition(".")
    try:
        if event_subject(tenant, event_type, prefix=prefix) == value:
            return ids.tenant_id(tenant), event_type
    except InvalidInput:
        pass
    raise UnparseableName(f"{ids.show(value)} is not an event subject under {prefix}")


def events_stream(prefix: str = DEFAULT_EVENT_PREFIX) -> str:
    """``events__{token}__{token}``: the JetStream stream of the events under ``prefix`` (the
    prefix's tokens hold no ``__``, so the name is injective; it never starts like a tenant
    environment's ``tenantry_`` stream)."""
    return "events__" + check_subject_prefix(prefix).replace(".", "__")


def event_filter(tenant: str | None = None, *, prefix: str = DEFAULT_EVENT_PREFIX) -> str:
    """``{prefix}.{tenant}.>`` (one tenant's events) or ``{prefix}.>`` (every tenant's)."""
    head = check_subject_prefix(prefix)
    return f"{head}.>" if tenant is None else f"{head}.{ids.tenant_id(tenant)}.>"
