"""Create the control database's two login roles: the owner (migrations, pruning) and the
serving role (INSERT and SELECT only on the audit tables, granted by the owner's migration).

Idempotent. Run once per server as an admin, before the first ``TENANTRY_DATABASE_OWNER_URL``
migration: ``python -m tenantry.backends.postgres.control_roles ADMIN_URL --database ...``.
"""

from __future__ import annotations

import argparse
import os

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tenantry.core.errors import InvalidInput

_CREATE = (
    "DO $$ BEGIN CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; "
    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
)
# Tables (and their serial sequences) and functions made before the owner existed move to it.
_ADOPT = (
    (
        "TABLE",
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(relowner) <> %s",
    ),
    (
        "FUNCTION",
        "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        " AND pronargs = 0 AND pg_get_userbyid(proowner) <> %s",
    ),
)


def ensure_roles(
    admin_url: str,
    *,
    database: str,
    owner: str,
    serving: str,
    owner_password: str | None = None,
    serving_password: str | None = None,
) -> None:
    """Make ``owner`` able to create and own the control tables in ``database``, and
    ``serving`` a plain login that is neither a superuser nor a member of ``owner``."""
    if owner == serving:
        raise InvalidInput("the owner and serving roles must differ", code="setting.invalid")
    with psycopg.connect(make_conninfo(admin_url, dbname=database), autocommit=True) as db:
        for role, password in ((owner, owner_password), (serving, serving_password)):
            db.execute(sql.SQL(_CREATE).format(sql.Identifier(role)))
            if password is not None:
                db.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
        _check_serving(db, owner=owner, serving=serving)
        _grant_owner(db, database=database, owner=owner, serving=serving)


def _check_serving(db: psycopg.Connection[tuple[object, ...]], *, owner: str, serving: str) -> None:
    """A serving role that may reach the owner's rights protects nothing: refuse it, and cut a
    membership (``SET ROLE`` would cross it)."""
    found = db.execute(
        "SELECT rolsuper OR rolcreaterole OR rolbypassrls FROM pg_roles WHERE rolname = %s",
        (serving,),
    ).fetchone()
    if found and found[0]:
        raise InvalidInput(
            f"the serving role {serving!r} is a superuser or may create roles or bypass row "
            "security: it could take the owner's rights; use a plain login role",
            code="setting.invalid",
        )
    if _member(db, serving, owner):
        db.execute(
            sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(owner), sql.Identifier(serving))
        )
    if _member(db, serving, owner):
        raise InvalidInput(
            f"the serving role {serving!r} reaches {owner!r} through another role: "
            "revoke that membership",
            code="setting.invalid",
        )


def _member(db: psycopg.Connection[tuple[object, ...]], role: str, of: str) -> bool:
    found = db.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (role, of)).fetchone()
    return bool(found and found[0])


def _grant_owner(
    db: psycopg.Connection[tuple[object, ...]], *, database: str, owner: str, serving: str
) -> None:
    roles = sql.SQL(", ").join([sql.Identifier(owner), sql.Identifier(serving)])
    db.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), roles)
    )
    db.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(owner)))
    # PostgreSQL 15's default, made explicit for older servers: no one else creates in public.
    db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    for kind, query in _ADOPT:
        for (name,) in db.execute(query, (owner,)).fetchall():
            target = sql.SQL("{}()" if kind == "FUNCTION" else "{}").format(
                sql.Identifier(str(name))
            )
            db.execute(
                sql.SQL("ALTER {} public.{} OWNER TO {}").format(
                    sql.SQL(kind), target, sql.Identifier(owner)
                )
            )


def main(argv: list[str] | None = None) -> None:
    """Passwords, when wanted, come from the environment, never the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("admin_url", help="an admin connection to the server (any database)")
    parser.add_argument("--database", required=True, help="the control database")
    parser.add_argument("--owner", default="tenantry_owner")
    parser.add_argument("--serving", default="tenantry_app")
    args = parser.parse_args(argv)
    ensure_roles(
        args.admin_url,
        database=args.database,
        owner=args.owner,
        serving=args.serving,
        owner_password=os.environ.get("TENANTRY_OWNER_PASSWORD"),
        serving_password=os.environ.get("TENANTRY_SERVING_PASSWORD"),
    )


if __name__ == "__main__":
    main()
