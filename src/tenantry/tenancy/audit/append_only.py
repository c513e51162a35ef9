"""The audit tables refuse UPDATE and DELETE: triggers on both dialects, and on PostgreSQL the
serving role's grants (INSERT and SELECT only). See docs/audit.md, "Append-only enforcement"."""

from __future__ import annotations

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
    """Make every existing audit table append-only (idempotent, cheap when already done)."""
    tables = existing_tables(connection)
    if connection.dialect.name == "sqlite":
        for table in tables:
            _sqlite_triggers(connection, table)
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    if connection.execute(text(f"SELECT to_regprocedure('{_FUNCTION}()')")).scalar() is None:
        connection.execute(text(_POSTGRES_FUNCTION))
    for table in tables:
        _postgres_triggers(connection, table)
    if serving_role:
        grant_serving(connection, serving_role, tables)


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


def _postgres_triggers(connection: Connection, table: str) -> None:
    """A row trigger for UPDATE and DELETE, and a statement one for TRUNCATE (which fires no
    row trigger). Created only when absent: CREATE TRIGGER locks the table against writes."""
    rows, truncate = _postgres_triggers_of(table)
    definitions = {
        rows: f'BEFORE UPDATE OR DELETE ON "{table}" FOR EACH ROW',
        truncate: f'BEFORE TRUNCATE ON "{table}" FOR EACH STATEMENT',
    }
    for trigger, when in definitions.items():
        found = connection.execute(
            text("SELECT 1 FROM pg_trigger WHERE tgname = :name AND tgrelid = to_regclass(:table)"),
            {"name": trigger, "table": table},
        ).first()
        if not found:
            connection.execute(
                text(f'CREATE TRIGGER "{trigger}" {when} EXECUTE FUNCTION {_FUNCTION}()')
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
