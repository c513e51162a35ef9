"""The audit tables refuse UPDATE and DELETE: triggers on both dialects, and on PostgreSQL the
serving role's grants (INSERT and SELECT only). See docs/audit.md, "Append-only enforcement"."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

AUDIT_TABLES = ("audit_records", "audit_chain", "audit_checkpoints")
PRUNE_SETTING = "tenantry.audit_prune"  # transaction-local; the trigger also wants the owner
_FUNCTION = "tenantry_audit_append_only"
_LOCK = 0x7E4A_A0D1  # serializes processes installing at once (GRANT on one row can collide)

# The owner is whoever owns the table: the migrating role. A superuser is not let through by
# being one; the test harness empties tables with session_replication_role = replica instead.
_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION tenantry_audit_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('tenantry.audit_prune', true) = 'on'
     AND (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) = current_user
  THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING HINT = 'records are removed only by the prune command, run as the owner role';
END $$
"""


def existing_tables(connection: Connection) -> list[str]:
    """The audit tables this database has (``audit_chain`` and ``audit_checkpoints`` came
    later than ``audit_records``)."""
    if connection.dialect.name == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"
    else:
        query = "SELECT 1 WHERE to_regclass(:name) IS NOT NULL"
    return [t for t in AUDIT_TABLES if connection.execute(text(query), {"name": t}).first()]


def install(connection: Connection, *, serving_role: str | None = None) -> None:
    """Make every existing audit table append-only (idempotent; one query when already done)."""
    if connection.dialect.name == "sqlite":
        for table in existing_tables(connection):
            _sqlite_triggers(connection, table)
        return
    state = _postgres_state(connection)
    if state.complete and not serving_role:
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    state = _postgres_state(connection)  # again: another process may have been first
    if not state.function:
        connection.execute(text(_POSTGRES_FUNCTION))
    for table, trigger, when in state.missing:
        connection.execute(
            text(
                f'CREATE TRIGGER "{trigger}" {when} ON "{table}" {_EACH[when]} '
                f"EXECUTE FUNCTION {_FUNCTION}()"
            )
        )
    if serving_role:
        grant_serving(connection, serving_role, state.tables)


@dataclass(frozen=True)
class _PostgresState:
    function: bool
    tables: list[str]
    missing: list[tuple[str, str, str]]  # (table, trigger, event)

    @property
    def complete(self) -> bool:
        return self.function and not self.missing


# A row trigger for UPDATE and DELETE, and a statement one for TRUNCATE (which fires no row
# trigger). Created only when absent: CREATE TRIGGER locks the table against writes.
_EACH = {"BEFORE UPDATE OR DELETE": "FOR EACH ROW", "BEFORE TRUNCATE": "FOR EACH STATEMENT"}
_STATE = text(
    "SELECT name, ARRAY(SELECT tgname::text FROM pg_trigger WHERE tgrelid = to_regclass(name)),"
    " to_regprocedure('tenantry_audit_append_only()') IS NOT NULL"
    " FROM unnest(CAST(:names AS text[])) AS name WHERE to_regclass(name) IS NOT NULL"
)


def _postgres_state(connection: Connection) -> _PostgresState:
    """The function, the audit tables and their missing triggers, in one round trip."""
    rows = connection.execute(_STATE, {"names": list(AUDIT_TABLES)}).all()
    function = all(row[2] for row in rows) if rows else True
    missing = [
        (table, trigger, when)
        for table, triggers, _ in rows
        for trigger, when in zip(_postgres_triggers_of(table), _EACH, strict=True)
        if trigger not in triggers
    ]
    return _PostgresState(function, [str(row[0]) for row in rows], missing)


def uninstall(connection: Connection) -> None:
    """Remove the triggers (the migration's downgrade); grants are left as they are."""
    sqlite = connection.dialect.name == "sqlite"
    for table in existing_tables(connection):
        for trigger in _sqlite_triggers_of(table) if sqlite else _postgres_triggers_of(table):
            on = "" if sqlite else f' ON "{table}"'
            connection.execute(text(f'DROP TRIGGER IF EXISTS "{trigger}"{on}'))
    if not sqlite:
        connection.execute(text(f"DROP FUNCTION IF EXISTS {_FUNCTION}()"))


def sqlite_delete_trigger(table: str) -> str:
    """The name of the SQLite trigger the prune path lifts for its transaction."""
    return f"{table}_no_delete"


def _sqlite_triggers_of(table: str) -> tuple[str, str]:
    return f"{table}_no_update", sqlite_delete_trigger(table)


def _postgres_triggers_of(table: str) -> tuple[str, str]:
    return f"{table}_append_only", f"{table}_no_truncate"


def _sqlite_triggers(connection: Connection, table: str) -> None:
    for trigger, event in zip(_sqlite_triggers_of(table), ("UPDATE", "DELETE"), strict=True):
        connection.execute(
            text(
                f'CREATE TRIGGER IF NOT EXISTS "{trigger}" BEFORE {event} ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, 'the audit table {table} is append-only: "
                f"{event} refused'); END"
            )
        )


def grant_serving(connection: Connection, role: str, audit_tables: list[str]) -> None:
    """What the serving role may do, granted by the owner: everything on the control tables
    but the audit ones (INSERT and SELECT) and the migration version (SELECT)."""
    quoted = _quote(connection, role)
    for statement in (
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {quoted}",
    ):
        connection.execute(text(statement))
    for table in audit_tables:
        connection.execute(
            text(f'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "{table}" FROM {quoted}')
        )


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)
