"""Path parameters documented with the rules the services check them by.

The OpenAPI document shows each id's ``pattern`` and lengths, taken from the validators
(:func:`tenantry.core.ids.pattern` and the like), but FastAPI does not check them: a bad id stays
the service's 400 with its own code (``id.invalid``, ``object_key.invalid``, ...), which
FastAPI's own check (``request.invalid``) would replace.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path

from tenantry.core import ids
from tenantry.core.names import OBJECT_KEY_LIMIT
from tenantry.runtime.objects.store import RESERVED
from tenantry.runtime.search.schemas import DOC_ID_LIMIT
from tenantry.tenancy.access.apikeys import KEY_ID_PATTERN
from tenantry.tenancy.access.issuing import JTI_PATTERN

# tenancy.lifecycle.service checks job ids with this grammar (kept equal by the API tests).
JOB_ID_PATTERN: Final = r"^[0-9a-f]{32}$"
# runtime.search.schemas checks document ids with this grammar (kept equal by the API tests).
DOC_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"


def documented(description: str, **schema: Any) -> Any:
    """A path parameter whose ``schema`` (pattern, lengths) is documented, not enforced."""
    return Path(description=description, json_schema_extra=schema)


def id_rules(kind: ids.IdKind) -> dict[str, Any]:
    """The JSON schema of an id of ``kind``, for a body field's ``json_schema_extra``:
    documented, while the services check it and answer their own codes."""
    return {"pattern": ids.pattern(kind), "minLength": 1, "maxLength": ids.max_length(kind)}


def _id(kind: ids.IdKind, what: str, note: str = "") -> Any:
    return documented(
        f"{what}: {ids.rule_text(kind)}{note}.",
        pattern=ids.pattern(kind),
        minLength=1,
        maxLength=ids.max_length(kind),
    )


TenantIdPath = Annotated[str, _id(ids.IdKind.TENANT, "The tenant id", "; 'global' is reserved")]
SessionIdPath = Annotated[str, _id(ids.IdKind.SESSION, "The session id")]
EnvIdPath = Annotated[str, _id(ids.IdKind.ENV, "The environment id")]
TeamIdPath = Annotated[str, _id(ids.IdKind.TEAM, "The team id", "; 'default' for none")]
ChannelIdPath = Annotated[str, _id(ids.IdKind.CHANNEL, "The channel id")]
SecretNamePath = Annotated[str, _id(ids.IdKind.SECRET, "The secret's name")]
ApiKeyIdPath = Annotated[
    str,
    documented(
        "The API key's id: 16 lowercase hex digits.",
        pattern=KEY_ID_PATTERN,
        minLength=16,
        maxLength=16,
    ),
]
DocIdPath = Annotated[
    str,
    documented(
        f"The document id: ASCII letters, digits and '._:-', starting with a letter or digit, "
        f"at most {DOC_ID_LIMIT} characters.",
        pattern=DOC_ID_PATTERN,
        minLength=1,
        maxLength=DOC_ID_LIMIT,
    ),
]
ObjectKeyPath = Annotated[
    str,
    documented(
        "A relative key ('/'-separated segments, none empty, '.' or '..'; no leading '/', "
        f"backslash or control character; '{RESERVED}' keys are the platform's), at most "
        f"{OBJECT_KEY_LIMIT} bytes as UTF-8.",
        minLength=1,
        maxLength=OBJECT_KEY_LIMIT,  # characters here: a bound the byte limit stays within
    ),
]
TokenIdPath = Annotated[
    str,
    documented(
        "The token's id (its jti claim, in the answer that issued it): 32 lowercase hex digits.",
        pattern=JTI_PATTERN,
        minLength=32,
        maxLength=32,
    ),
]
JobIdPath = Annotated[
    str,
    documented(
        "The job id: 32 lowercase hex digits.",
        pattern=JOB_ID_PATTERN,
        minLength=32,
        maxLength=32,
    ),
]
