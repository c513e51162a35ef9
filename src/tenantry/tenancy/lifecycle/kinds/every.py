"""The resource kinds archives carry, in the order they are exported and brought back
(tables before the search documents that live beside them)."""

from __future__ import annotations

from typing import Final

from tenantry.tenancy.lifecycle.archives import Exportable
from tenantry.tenancy.lifecycle.kinds.objects import OBJECTS
from tenantry.tenancy.lifecycle.kinds.relational import RELATIONAL
from tenantry.tenancy.lifecycle.kinds.search import SEARCH
from tenantry.tenancy.lifecycle.kinds.secrets import SECRETS
from tenantry.tenancy.lifecycle.kinds.sessions import SESSIONS
from tenantry.tenancy.lifecycle.kinds.state import STATE

ARCHIVED: Final[tuple[Exportable, ...]] = (RELATIONAL, SEARCH, SESSIONS, STATE, SECRETS, OBJECTS)
