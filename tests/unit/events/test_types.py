"""Which events a lifecycle change announces, event subjects, windows and the schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.events import catalog, envelope, once
from tenantry.tenancy.events.publish import documents
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.lifecycle.announce import Change, event_types
from tenantry.tenancy.lifecycle.states import JobKind

E = EventType


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        (JobKind.SUSPEND, Change.SUCCEEDED, (E.TENANT_SUSPENDED,)),
        (JobKind.RESUME, Change.SUCCEEDED, (E.TENANT_RESUMED,)),
        (JobKind.ARCHIVE, Change.SUCCEEDED, (E.TENANT_ARCHIVED,)),
        (JobKind.RESTORE, Change.SUCCEEDED, (E.TENANT_RESTORED,)),
        (JobKind.DELETE, Change.SUCCEEDED, (E.TENANT_DELETED,)),
        (JobKind.MIGRATE, Change.STARTED, (E.MIGRATION_STARTED,)),
        (JobKind.MIGRATE, Change.SUCCEEDED, (E.MIGRATION_COMPLETED,)),
        (JobKind.MIGRATE, Change.FAILED, (E.MIGRATION_FAILED, E.JOB_FAILED)),
        (JobKind.SUSPEND, Change.FAILED, (E.JOB_FAILED,)),
        (JobKind.ROTATE_KEYS, Change.FAILED, (E.JOB_FAILED,)),
        (JobKind.ROTATE_KEYS, Change.SUCCEEDED, ()),
        (JobKind.SUSPEND, Change.REQUESTED, ()),
        (JobKind.SUSPEND, Change.STARTED, ()),
        (JobKind.ARCHIVE, Change.CANCELLED, ()),
    ],
)
def test_a_job_change_announces(
    kind: JobKind, change: Change, expected: tuple[EventType, ...]
) -> None:
    assert event_types(kind, change) == expected


def test_an_environment_purge_announces_only_its_failure() -> None:
    assert event_types(JobKind.DELETE, Change.SUCCEEDED, scoped=True) == ()
    assert event_types(JobKind.DELETE, Change.FAILED, scoped=True) == (E.JOB_FAILED,)


_TENANT = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)


@given(_TENANT, st.sampled_from(list(EventType)), _TENANT, st.sampled_from(list(EventType)))
def test_event_subjects_parse_back_and_never_collide(
    a: str, type_a: EventType, b: str, type_b: EventType
) -> None:
    subject = names.event_subject(a, type_a.value)
    assert names.parse_event_subject(subject) == (a, type_a.value)
    if (a, type_a) != (b, type_b):
        assert subject != names.event_subject(b, type_b.value)
    assert subject.startswith(names.event_filter(a).removesuffix(">"))
    if a != b:
        assert not subject.startswith(names.event_filter(b).removesuffix(">"))


@pytest.mark.parametrize(
    "subject",
    [
        "tenantry.events.acme",
        "tenantry.events.ACME.tenancy.tenant.created",
        "tenantry.events.acme.tenancy..created",
        "tenantry.events.acme.tenancy.tenant.created ",
        "greentic.messaging.ingress.prod.acme.default.web",
        "tenantry.events.acme.tenancy.*",
    ],
)
def test_bad_event_subjects_are_refused(subject: str) -> None:
    with pytest.raises(InvalidInput):
        names.parse_event_subject(subject)


def test_the_events_stream_name_depends_on_the_prefix() -> None:
    assert names.events_stream() == "events__tenantry__events"
    assert names.events_stream("a-b.c") != names.events_stream("a.b-c")


def test_quota_windows_are_fixed_and_keyed_by_tenant_resource_and_window() -> None:
    at = datetime(2026, 12, 6, 10, 59, 59, tzinfo=UTC)
    assert once.window_start(at, 3600) == datetime(2026, 12, 6, 10, tzinfo=UTC)
    _, key = once.quota_exceeded("acme", "state", {}, now=at, window=3600)
    later = at.replace(hour=11, minute=0, second=0)
    assert once.quota_exceeded("acme", "state", {}, now=at.replace(minute=0), window=3600)[1] == key
    assert once.quota_exceeded("acme", "state", {}, now=later, window=3600)[1] != key
    assert once.quota_exceeded("acme", "objects", {}, now=at, window=3600)[1] != key
    assert once.quota_exceeded("globex", "state", {}, now=at, window=3600)[1] != key


def test_every_schema_is_a_valid_json_schema_and_the_docs_are_up_to_date() -> None:
    for schema in catalog.every_schema().values():
        jsonschema.Draft202012Validator.check_schema(schema)
    folder = Path(__file__).parents[3] / "docs" / "events"
    written = {p.name: p.read_text() for p in folder.glob("*.json")}
    assert written == documents(), "run: python -m tenantry.tenancy.events.publish docs/events"


def test_a_built_event_matches_the_envelope_schema_and_names_its_data_schema() -> None:
    data = {"policy": None, "action": "apply", "check": "residency", "reason": "r"}
    event = Event(E.POLICY_VIOLATED, "acme", {**data, "violations": [data]})
    body = envelope.build(event, event_id="0f" * 16, seq=1, now=datetime.now(UTC))
    jsonschema.validate(body, catalog.envelope_schema())
    assert body["dataschema"] == catalog.data_schema(E.POLICY_VIOLATED)["$id"]
    jsonschema.validate(body["data"], catalog.data_schema(E.POLICY_VIOLATED))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"policy": "p"}, catalog.data_schema(E.POLICY_VIOLATED))
