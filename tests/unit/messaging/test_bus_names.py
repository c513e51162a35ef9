"""The bus's names: consumers per direction, confined dedup ids, live filters, queue groups;
and the bus chosen from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.backends.memory.bus import InProcessBus
from tenantry.backends.nats.bus import JetStreamBus
from tenantry.bootstrap import bus_limits, message_bus
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.core.settings import Settings

P = names.DEFAULT_SUBJECT_PREFIX


def test_each_direction_has_its_own_consumer() -> None:
    made = {names.consumer_name("acme", "prod", d) for d in names.Direction}
    assert made == {"c_acme__prod", "e_acme__prod", "d_acme__prod"}
    assert names.consumer_name("acme", "prod") == "c_acme__prod"  # the controller's record


def test_bus_message_ids_are_confined_to_a_direction_of_a_tenant_environment() -> None:
    ingress = names.Direction.INGRESS
    seen = {
        names.bus_message_id(ingress, "a", "prod", "m1"),
        names.bus_message_id(ingress, "b", "prod", "m1"),
        names.bus_message_id(ingress, "a", "dev", "m1"),
        names.bus_message_id(names.Direction.EGRESS, "a", "prod", "m1"),
    }
    assert len(seen) == 4
    with pytest.raises(InvalidInput):
        names.bus_message_id(ingress, "a", "prod", "m1\r\nPUB")


@pytest.mark.parametrize(
    "wanted",
    [f"{P}.>", f"{P}.ingress.*.acme.>", f"{P}.egress.prod.acme.default.webchat", f"{P}.*.*.*.*.*"],
)
def test_good_filters_pass(wanted: str) -> None:
    assert names.check_subject_filter(wanted) == wanted


@pytest.mark.parametrize(
    "wanted",
    [P, f"{P}.", f"{P}.a b", f"{P}.a\r\nb", f"{P}.>.x", f"{P}.a..b", "x.y.>", f"{P}.**", 7],
)
def test_bad_filters_are_refused(wanted: object) -> None:
    with pytest.raises(InvalidInput):
        names.check_subject_filter(wanted)


@pytest.mark.parametrize("group", ["runners", "egress-dispatch", "web_chat1"])
def test_good_queue_groups_pass(group: str) -> None:
    assert names.check_queue_group(group) == group


async def test_the_bus_follows_the_settings(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path, bus_tenant_max_msgs=7)
    async with message_bus(embedded) as bus:
        assert isinstance(bus, InProcessBus) and bus.limits.max_msgs == 7
    real = Settings(data_dir=tmp_path, nats_url="nats://127.0.0.1:1", bus_ack_wait_seconds=9)
    async with message_bus(real) as bus:  # connects on first use, not here
        assert isinstance(bus, JetStreamBus)
    assert bus_limits(real).ack_wait == 9


_UNSAFE = st.sampled_from([".", "*", ">", " ", "\r", "\n", "\t", "\x00"])


@given(head=st.text(max_size=8), bad=_UNSAFE, tail=st.text(max_size=8))
def test_no_unsafe_character_reaches_a_subject_or_a_wire_id(head: str, bad: str, tail: str) -> None:
    value = head + bad + tail
    ingress = names.Direction.INGRESS
    for build in (
        lambda: names.subject(ingress, value, "prod", None, "webchat"),
        lambda: names.subject(ingress, "acme", "prod", value, "webchat"),
        lambda: names.subject(ingress, "acme", "prod", None, value),
        lambda: names.bus_message_id(ingress, "acme", "prod", value),
        lambda: names.consumer_name(value, "prod", ingress),
    ):
        with pytest.raises(InvalidInput):
            build()
    if bad not in ".*>":  # those three are filter syntax; whitespace and controls never are
        with pytest.raises(InvalidInput):
            names.check_subject_filter(f"{P}.ingress.{value}")


def test_a_direction_filter_covers_that_direction_of_every_tenant() -> None:
    assert names.direction_filter(names.Direction.INGRESS) == "greentic.messaging.ingress.>"
    assert names.direction_filter(names.Direction.EGRESS, prefix="x.y") == "x.y.egress.>"
