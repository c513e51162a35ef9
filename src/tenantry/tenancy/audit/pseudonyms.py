"""User ids as the audit log stores them: a keyed hash under the tenant's pseudonym key (so
they become unlinkable once the tenant's keys are shredded), else under the platform's."""

from __future__ import annotations

from tenantry.tenancy.audit import hmac
from tenantry.tenancy.audit.ports import AuditKeys


def pseudonymise(keys: AuditKeys, tenant: str | None, user_id: str) -> str:
    key = None if tenant is None else keys.tenant_pseudonym_key(tenant)
    if key is not None:
        return hmac.pseudonym(key, user_id, scope=hmac.TENANT_SCOPE)
    return hmac.pseudonym(keys.platform_pseudonym_key(), user_id, scope=hmac.PLATFORM_SCOPE)
