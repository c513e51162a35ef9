"""A flow that cannot run is refused at validate (and so at apply) with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.errors import ManifestError
from tenantry.tenancy.manifests.schemas import Flow

HEAD = "name: f\nversion: '1.0'\nnodes:\n"


def problems(tmp_path: Path, nodes: str) -> list[str]:
    path = tmp_path / "f.yaml"
    path.write_text(HEAD + nodes)
    return [f"{i.line}:{i.column} {i.message}" for i in loader.check(path)]


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        ("  - {id: a, type: teleport}\n", "4:19 nodes[0].type: unknown node type 'teleport'"),
        (
            "  - {id: a, type: reply, next: zz, config: {message: x}}\n",
            "4:32 nodes[0].next: unknown next node 'zz'",
        ),
        (
            "  - id: a\n    type: reply\n    config: {message: '{{ x '}\n",
            "6:23 nodes[0].config.message: template error",
        ),
        (
            "  - id: a\n    type: reply\n    config: {mesage: x}\n",
            "6:22 nodes[0].config.mesage: reply config: unknown key 'mesage'",
        ),
        (
            "  - id: a\n    type: reply\n",
            "4:5 nodes[0].config.message: reply config: missing required key 'message'",
        ),
        (
            "  - id: a\n"
            "    type: branch\n"
            "    config:\n"
            "      cases: [{regex: '(', next: a}]\n"
            "      default: a\n",
            "7:23 nodes[0].config.cases[0].regex: bad regular expression",
        ),
        (
            "  - id: a\n"
            "    type: branch\n"
            "    config:\n"
            "      cases: [{keywords: [x], regex: y, next: a}]\n"
            "      default: a\n",
            "7:15 nodes[0].config.cases[0]: a case has either keywords or regex",
        ),
        (
            "  - {id: a, type: set, config: {variables: {v: '1'}}}\n"
            "  - {id: b, type: reply, next: a, config: {message: x}}\n",
            "5:5 nodes[1]: node 'b' closes a cycle without an ask",
        ),
        ("  - {id: a, type: end, next: a}\n", "4:30 nodes[0].next: a end node ends the turn"),
        (
            "  - {id: a, type: call, config: {url: 'http://x', timeout: 99}}\n",
            "4:60 nodes[0].config.timeout: call config: Input should be less than or equal to 30",
        ),
    ],
)
def test_each_problem_is_placed(tmp_path: Path, nodes: str, expected: str) -> None:
    found = problems(tmp_path, nodes)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize("regex", ["(a+)+$", r"(\w+\s?)*$", "(x{2,})+"])
def test_catastrophic_regexes_are_refused(tmp_path: Path, regex: str) -> None:
    nodes = (
        "  - id: a\n    type: branch\n    config:\n"
        f"      cases: [{{regex: '{regex}', next: a}}]\n      default: a\n"
    )
    found = problems(tmp_path, nodes)
    assert len(found) == 1 and "exponential" in found[0], found


def test_a_loop_through_an_ask_is_a_conversation(tmp_path: Path) -> None:
    nodes = (
        "  - {id: q, type: ask, config: {message: 'again?'}}\n"
        "  - {id: r, type: reply, next: q, config: {message: ok}}\n"
    )
    assert problems(tmp_path, nodes) == []


def test_the_api_form_is_refused_too_with_every_problem_named() -> None:
    with pytest.raises(ValueError, match=r"nodes\.0\.type: unknown node type") as raised:
        Flow.model_validate({"name": "f", "version": "1", "nodes": [{"id": "a", "type": "x"}]})
    assert "unknown node type" in str(raised.value)


def test_a_broken_flow_in_a_bundle_fails_the_whole_load(tmp_path: Path) -> None:
    (tmp_path / "bundle.yaml").write_text(
        "tenants:\n  acme:\n    name: A\n    teams:\n      support: {flow: f}\n"
        "flows:\n  - name: f\n    version: '1'\n    nodes:\n      - {id: a, type: nope}\n"
    )
    with pytest.raises(ManifestError) as raised:
        loader.load([tmp_path / "bundle.yaml"])
    assert [(i.line, i.column) for i in raised.value.issues] == [(10, 23)]
