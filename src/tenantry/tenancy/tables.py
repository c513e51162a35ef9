"""Every control-database table, for migrations and the schema check: the registry's and the
feature tables registered on the same metadata."""

from __future__ import annotations

from tenantry.tenancy.access import models as access_models
from tenantry.tenancy.audit import models as audit_models
from tenantry.tenancy.channels import models as channel_models
from tenantry.tenancy.events import models as event_models
from tenantry.tenancy.idempotency import models as idempotency_models
from tenantry.tenancy.lifecycle import models as lifecycle_models
from tenantry.tenancy.lifecycle.fence import models as fence_models
from tenantry.tenancy.limits import models as limits_models
from tenantry.tenancy.policy import models as policy_models
from tenantry.tenancy.registry.models import Base
from tenantry.tenancy.webhooks import models as webhook_models

metadata = Base.metadata
FEATURES = (
    access_models,
    audit_models,
    channel_models,
    event_models,
    fence_models,
    idempotency_models,
    lifecycle_models,
    limits_models,
    policy_models,
    webhook_models,
)  # imported for their tables
