"""The engine reads the tenant's settings and the session's state only for flows that use them."""

from __future__ import annotations

from typing import Any

from tenantry.runtime.flows.engine import _prepared
from tenantry.runtime.flows.model import FlowDef


def _uses(*nodes: dict[str, Any]) -> frozenset[str]:
    return _prepared(FlowDef.of({"name": "f", "version": "1", "nodes": list(nodes)}))[1]


def test_the_names_a_flow_reads_are_derived_from_its_templates() -> None:
    assert _uses({"id": "a", "type": "reply", "config": {"message": "Welcome!"}}) == frozenset()
    reply = {"id": "a", "type": "reply", "config": {"message": "{{ settings.x }} {{ input }}"}}
    assert _uses(reply) == {"settings", "input"}
    assert "state" in _uses({"id": "a", "type": "set", "config": {"state": {"k": "v"}}})
    llm = {"id": "a", "type": "llm", "config": {"prompt": "hi"}}
    assert "settings" in _uses(llm)  # its default base_url reads settings.llm_base_url
