"""Broken manifests: every problem located by file, line and column, all reported at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tenantry.tenancy.manifests import loader, source
from tenantry.tenancy.manifests.errors import Issue, ManifestError


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def issues_of(*paths: Path) -> list[Issue]:
    with pytest.raises(ManifestError) as caught:
        loader.load(list(paths))
    return list(caught.value.issues)


def at(found: list[Issue], line: int, column: int) -> str:
    matches = [i.message for i in found if (i.line, i.column) == (line, column)]
    assert matches, f"no issue at {line}:{column} in {found}"
    return matches[0]


def test_every_problem_in_a_file_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "b.yaml",
        (
            "tenants:\n"
            "  Acme:\n"
            "    name: x\n"
            "  ok:\n"
            "    name: ok\n"
            "    profle: mt-standard\n"
            "    profile: mt-shared\n"
            "    environments:\n"
            "      - id: prod\n"
            "      - id: Prod\n"
        ),
    )
    found = issues_of(path)
    assert {i.file for i in found} == {str(path)}
    assert 'invalid tenant id "Acme"' in at(found, 2, 3)
    assert "unknown key 'profle'" in at(found, 6, 5)
    assert "mt-shared" in at(found, 7, 14) or "profile" in at(found, 7, 14)
    assert 'invalid environment id "Prod"' in at(found, 10, 13)
    assert len(found) == 4


def test_missing_required_key(tmp_path: Path) -> None:
    found = issues_of(write(tmp_path, "b.yaml", "tenants:\n  acme:\n    teams: {}\n"))
    assert "missing required key 'name'" in at(found, 3, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "must be a YAML mapping"),
        ("just text\n", "must be a YAML mapping"),
        ("", "the file is empty"),
        ("a: 1\n---\nb: 2\n", "single document"),
        ("a: [1, 2\n", "invalid YAML"),
        ("a: !!python/object/apply:os.system ['true']\n", "is not allowed"),
        ("a: !!python/name:os.system ''\n", "invalid YAML"),
        ("tenants:\n  acme: &x {name: a}\n  b: *x\n", "anchors and aliases"),
        ("tenants:\n  acme:\n    name: a\n  acme:\n    name: b\n", "duplicate key 'acme'"),
        ("a: " + "[" * 200 + "]" * 200 + "\n", "nesting deeper than 64"),
        ("flows: []\nsomething: 1\n", "unknown key 'something'"),
        ("whatever: 1\n", "cannot tell the manifest kind"),
    ],
)
def test_structural_problems(tmp_path: Path, text: str, expected: str) -> None:
    found = issues_of(write(tmp_path, "m.yaml", text))
    assert any(expected in issue.message for issue in found), found
    assert all(issue.file.endswith("m.yaml") for issue in found)


def test_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.monotonic()
    found = issues_of(write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n"))
    assert "anchors and aliases" in found[0].message
    assert (found[0].line, found[0].column) == (1, 5)
    assert time.monotonic() - started < 5  # guard against expansion, not a performance target


def test_oversized_and_undecodable_files(tmp_path: Path) -> None:
    big = write(tmp_path, "big.yaml", "a: " + "x" * (source.MAX_FILE_BYTES + 1) + "\n")
    assert "the limit is" in issues_of(big)[0].message
    latin = write(tmp_path, "latin.yaml", b"name: caf\xe9\n")
    assert "not UTF-8" in issues_of(latin)[0].message


def test_duplicate_keys_are_all_reported(tmp_path: Path) -> None:
    found = issues_of(write(tmp_path, "d.yaml", "tenants: {}\na: 1\na: 2\nb: 1\nb: 2\n"))
    duplicates = [(i.line, i.column) for i in found if "duplicate key" in i.message]
    assert duplicates == [(3, 1), (5, 1)]
    assert "unknown key 'a'" in at(found, 2, 1) and "unknown key 'b'" in at(found, 4, 1)


def test_cross_file_problems(tmp_path: Path) -> None:
    write(
        tmp_path,
        "bundle/bundle.yaml",
        (
            "tenants:\n"
            "  acme:\n"
            "    name: ACME\n"
            "    teams:\n"
            "      support:\n"
            "        flow: missing_flow\n"
            "        channels:\n"
            "          slack: {provider: messaging-slack, flow: other_missing}\n"
        ),
    )
    write(tmp_path, "bundle/tenants/acme.yaml", "tenant:\n  id: acme\n  name: Again\n")
    write(tmp_path, "bundle/teams/t.yaml", "team:\n  id: x\n  tenant_id: nobody\n")
    write(tmp_path, "bundle/teams/u.yaml", "team:\n  id: support\n  tenant_id: acme\n")
    flow = "name: lonely\nversion: '1'\nnodes:\n  - {id: a, type: reply, config: {message: hi}}\n"
    write(tmp_path, "bundle/flows/lonely.yaml", flow)
    write(tmp_path, "bundle/flows/lonely2.yaml", flow)
    messages = "\n".join(str(i) for i in issues_of(tmp_path / "bundle"))
    assert "duplicate tenant id 'acme'" in messages and "bundle.yaml:2:3" in messages
    assert "names unknown tenant 'nobody'" in messages and "t.yaml:3:14" in messages
    assert "duplicate team 'support' of tenant 'acme'" in messages
    assert "binds unknown flow 'missing_flow'" in messages and "bundle.yaml:6:15" in messages
    assert "binds unknown flow 'other_missing'" in messages
    assert "flow 'lonely' is bound to no team or channel" in messages
    assert "duplicate flow 'lonely'" in messages


def test_flow_problems(tmp_path: Path) -> None:
    found = issues_of(
        write(
            tmp_path,
            "f.yaml",
            (
                "name: Bad.Flow\n"
                "version: latest\n"
                "nodes:\n"
                "  - {id: greet, type: reply, config: {message: hi}}\n"
                "  - {id: greet, type: reply, config: {message: hi}}\n"
            ),
        )
    )
    text = "\n".join(str(i) for i in found)
    assert "invalid flow name" in text and "f.yaml:1:7" in text
    assert "version" in text and "f.yaml:2:10" in text
    assert "duplicate node id 'greet'" in text


def test_wrong_folder_in_a_directory_bundle(tmp_path: Path) -> None:
    write(tmp_path, "b/tenants/t.yaml", "team:\n  id: x\n  tenant_id: acme\n")
    found = issues_of(tmp_path / "b")
    assert "a team manifest where a tenant manifest belongs" in found[0].message


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    found = issues_of(tmp_path / "nope.yaml", tmp_path / "empty")
    messages = sorted(i.message for i in found)
    assert any("no such file" in m for m in messages)
    assert any("holds no bundle.yaml" in m for m in messages)


def test_check_of_a_lone_team_file_skips_references(tmp_path: Path) -> None:
    team = write(tmp_path, "team.yaml", "team:\n  id: support\n  tenant_id: acme\n")
    assert loader.check(team) == []
    assert "unknown tenant" in issues_of(team)[0].message


def test_directory_bundle_loads(tmp_path: Path) -> None:
    bundle_file = "plans:\n  gold: {rate: 100}\ntenants:\n  acme:\n    name: ACME\n"
    write(tmp_path, "b/bundle.yaml", bundle_file)
    write(tmp_path, "b/tenants/beta.yml", "tenant:\n  id: beta\n  name: Beta\n  plan: gold\n")
    write(
        tmp_path,
        "b/teams/s.yaml",
        "team:\n  id: s\n  tenant_id: beta\n  flow: f\nchannels:\n  web: {provider: web}\n",
    )
    write(
        tmp_path,
        "b/flows/f.yaml",
        "name: f\nversion: '2.1'\nnodes:\n  - {id: n, type: reply, config: {message: hi}}\n",
    )
    write(tmp_path, "b/README.md", "ignored\n")
    bundle = loader.load([tmp_path / "b"])
    assert sorted(bundle.tenants) == ["acme", "beta"]
    beta = bundle.tenants["beta"]
    assert beta.plan == "gold" and beta.teams["s"].flow == "f"
    assert beta.flows["f"].version == "2.1"
    assert bundle.tenants["acme"].flows == {}


@pytest.mark.parametrize(
    ("text", "line", "column", "expected"),
    [
        (b'tenant:\n  id: ctl\n  name: "a\x01b"\n', 3, 11, "control character U+0001"),
        (b"# a comment \x1b[31m\ntenant:\n  id: ctl\n  name: ok\n", 1, 13, "not even in a comment"),
        (b"tenant:\n  id: ctl\n  name: a\x7fb\n", 3, 10, "control character U+007F"),
        (b'tenant:\n  id: ctl\n  name: "a\\x01b"\n', 3, 9, "U+0001 at character 2"),
        (b'tenant:\n  id: ctl\n  name: "\\ud800"\n', 3, 9, "lone surrogate: U+D800"),
        (b'tenant:\n  id: ctl\n  "n\\x00": x\n  name: ok\n', 3, 3, "a key may not hold"),
    ],
    ids=["raw-in-value", "raw-in-comment", "raw-del", "escaped", "escaped-surrogate", "key"],
)
def test_control_characters_are_located_problems(
    tmp_path: Path, text: bytes, line: int, column: int, expected: str
) -> None:
    found = issues_of(write(tmp_path, "ctl.yaml", text))
    assert expected in at(found, line, column), found


def test_tabs_and_line_breaks_stay_text(tmp_path: Path) -> None:
    text = 'tenant:\n  id: ctl\n  name: "a\\tb\\nc"\n'
    bundle = loader.load([write(tmp_path, "ok.yaml", text)])
    assert bundle.tenants["ctl"].name == "a\tb\nc"


def test_a_duplicate_key_hides_no_other_problem_of_its_file(tmp_path: Path) -> None:
    text = (
        "tenants:\n  acme:\n    name: a\n  acme:\n    name: b\n  Bad:\n    name: c\n    bogus: 1\n"
    )
    found = issues_of(write(tmp_path, "dup.yaml", text))
    assert "duplicate key 'acme'" in at(found, 4, 3)
    assert 'invalid tenant id "Bad"' in at(found, 6, 3)
    assert "unknown key 'bogus'" in at(found, 8, 5)
    assert len(found) == 3
