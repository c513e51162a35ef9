"""Path ids in the OpenAPI document: each shows the pattern and lengths its validator checks,
and a bad id is still refused by that validator with its own code (not FastAPI's)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.api.app import create_app
from tenantry.api.routes.events import SCHEMA_NAME_PATTERN
from tenantry.api.schemas.paths import DOC_ID_PATTERN, JOB_ID_PATTERN
from tenantry.core import ids
from tenantry.core.errors import TenantryError
from tenantry.core.names import OBJECT_KEY_LIMIT
from tenantry.runtime.search.schemas import DOC_ID_LIMIT, doc_id
from tenantry.tenancy.access.apikeys import KEY_ID_PATTERN, checked_key_id
from tenantry.tenancy.access.issuing import JTI_PATTERN, checked_jti
from tenantry.tenancy.webhooks.schemas import ENDPOINT_ID_PATTERN

# parameter name -> (pattern, minLength, maxLength) documented for it
DOCUMENTED: Final[dict[str, tuple[str | None, int, int]]] = {
    "tenant_id": (ids.pattern(ids.IdKind.TENANT), 1, 32),
    "session_id": (ids.pattern(ids.IdKind.SESSION), 1, 64),
    "env_id": (ids.pattern(ids.IdKind.ENV), 1, 16),
    "team_id": (ids.pattern(ids.IdKind.TEAM), 1, 32),
    "channel_id": (ids.pattern(ids.IdKind.CHANNEL), 1, 32),
    "name": (ids.pattern(ids.IdKind.SECRET), 1, 64),
    "key_id": (KEY_ID_PATTERN, 16, 16),
    "jti": (JTI_PATTERN, 32, 32),
    "job_id": (JOB_ID_PATTERN, 32, 32),
    "doc_id": (DOC_ID_PATTERN, 1, DOC_ID_LIMIT),
    "key": (None, 1, OBJECT_KEY_LIMIT),  # no one pattern: segments, bytes, a reserved prefix
    "webhook_id": (ENDPOINT_ID_PATTERN, 32, 32),  # issue 13: any other id is not found
    "schema_name": (SCHEMA_NAME_PATTERN, 3, 64),  # issue 13: any other name is not found
}


def _path_parameters() -> list[tuple[str, dict[str, Any]]]:
    document = create_app().openapi()
    return [
        (f"{method.upper()} {path}", parameter)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]


def test_every_path_id_documents_its_validators_rules() -> None:
    found = _path_parameters()
    assert {parameter["name"] for _, parameter in found} == set(DOCUMENTED)
    for where, parameter in found:
        pattern, shortest, longest = DOCUMENTED[parameter["name"]]
        schema = parameter["schema"]
        assert schema.get("pattern") == pattern, where
        assert (schema["minLength"], schema["maxLength"]) == (shortest, longest), where
        assert parameter["description"], where


def _agree(pattern: str, longest: int, check: Callable[[object], object], value: str) -> None:
    documented = re.fullmatch(pattern, value) is not None and len(value) <= longest
    try:
        check(value)
    except TenantryError:
        assert not documented, value
        return
    assert documented, value


DOC_IDS = ["d", "D1", "a.b:c-d_e", "x" * 128, "x" * 129, ".a", "-a", "a b", "a/b", "caf\u00e9", ""]
KEY_IDS = ["0" * 16, "0123456789abcdef", "0" * 15, "0" * 17, "0123456789ABCDEF", "g" * 16, ""]


@pytest.mark.parametrize("value", DOC_IDS)
def test_the_documented_doc_id_is_what_search_takes(value: str) -> None:
    _agree(DOC_ID_PATTERN, DOC_ID_LIMIT, doc_id, value)


@given(st.text(alphabet="aZ09._:-/ \u00e9\n", max_size=140))
def test_the_documented_doc_id_agrees_with_search(value: str) -> None:
    _agree(DOC_ID_PATTERN, DOC_ID_LIMIT, doc_id, value)


@pytest.mark.parametrize("value", KEY_IDS)
def test_the_documented_api_key_id_is_what_access_takes(value: str) -> None:
    _agree(KEY_ID_PATTERN, 16, checked_key_id, value)


JTIS = [
    "0" * 32,
    "0123456789abcdef" * 2,
    "0" * 31,
    "0" * 33,
    "A" * 32,
    "g" * 32,
    "",
    "0" * 31 + "\n",
]


@pytest.mark.parametrize("value", JTIS)
def test_the_documented_token_id_is_what_access_takes(value: str) -> None:
    _agree(JTI_PATTERN, 32, checked_jti, value)
