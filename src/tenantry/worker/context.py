"""The tenant context of work that arrives as a message or a job, checked against the registry.

Besides the access layer, only the worker makes a :class:`TenantCtx` (DESIGN.md section 1), and
it trusts nothing the work says about its tenant beyond this:

* a message's tenant, environment and team come from its subject alone
  (``{prefix}.{ingress|egress}.{env}.{tenant}.{team}.{channel}``, parsed by
  ``names.parse_subject``: exactly six tokens under the configured prefix, every id valid, no
  wildcard); a ``default`` team token means no team;
* a job's come from its ``tenant_id``, ``env_id`` and optional ``team_id``,
  ``session_id`` and ``correlation_id`` fields, all strings; another field, a missing tenant or
  environment, or a malformed id is refused (``job.context_invalid`` / ``id.invalid``), never
  repaired;
* then the tenant scope is opened, which reads the registry again on every call: an unknown
  tenant or environment is ``*.not_found``, a suspended or archived one
  ``tenant.suspended``/``tenant.archived``, a deleting one ``tenant.deleted``, one not yet
  provisioned ``tenant.not_ready``. So a job queued before a
  suspension does not run after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from tenantry.core import ids, names
from tenantry.core.context import TenantCtx
from tenantry.core.errors import InvalidInput
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.scopes import Scopes

JOB_FIELDS: Final = frozenset({"tenant_id", "env_id", "team_id", "session_id", "correlation_id"})
_REQUIRED: Final = ("tenant_id", "env_id")
_CORRELATION: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")  # as the API accepts them


class JobContextInvalid(InvalidInput):
    code = "job.context_invalid"


def context_of_subject(
    subject: str, *, prefix: str = names.DEFAULT_SUBJECT_PREFIX, correlation_id: str | None = None
) -> TenantCtx:
    """The context a messaging subject names (``names.parse_subject`` refuses anything else)."""
    _, tenant, env, team, _ = names.parse_subject(subject, prefix=prefix)
    return TenantCtx(
        tenant_id=tenant,
        env_id=env,
        team_id=None if team == ids.DEFAULT_TEAM else team,
        correlation_id=correlation_id,
    )


def context_of_job(fields: Mapping[str, object]) -> TenantCtx:
    """The context a job's fields name; anything unexpected is refused."""
    unknown = sorted(str(name) for name in set(fields) - JOB_FIELDS)
    if unknown:
        raise JobContextInvalid(f"a job's context has no field {', '.join(unknown)}")
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise JobContextInvalid(f"a job's context needs {' and '.join(missing)}")
    text = {name: _text(name, value) for name, value in fields.items()}
    team, session = text.get("team_id"), text.get("session_id")
    return TenantCtx(
        tenant_id=ids.tenant_id(text["tenant_id"]),
        env_id=ids.env_id(text["env_id"]),
        team_id=None if team is None else ids.team_id(team),
        session_id=None if session is None else ids.session_id(session),
        correlation_id=text.get("correlation_id"),
    )


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise JobContextInvalid(f"a job's {name} must be a string, not {type(value).__name__}")
    if name == "correlation_id" and not _CORRELATION.fullmatch(value):
        raise JobContextInvalid(
            f"a job's correlation_id {ids.show(value)} is not 1-64 of A-Za-z0-9._-"
        )
    return value


async def scope_of_subject(
    scopes: Scopes, subject: str, *, prefix: str = names.DEFAULT_SUBJECT_PREFIX
) -> TenantScope:
    """The tenant scope a message on ``subject`` may use, if its tenant may run now."""
    return await scopes.open(context_of_subject(subject, prefix=prefix))


async def scope_of_job(scopes: Scopes, fields: Mapping[str, object]) -> TenantScope:
    """The tenant scope a job naming ``fields`` may use, if its tenant may run now."""
    return await scopes.open(context_of_job(fields))
