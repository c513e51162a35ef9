"""Lone UTF-16 surrogates for schemathesis: half the generated JSON bodies get one, in any
field (a string value, a key, or a leaf of another type replaced by text), so every body field
meets text that is not Unicode; :func:`check` says how the API must answer it."""

from __future__ import annotations

import json
from typing import Any, Final

from hypothesis import strategies as st

from tenantry.api.bodies import lone_surrogate

# Routes that take their body as bytes (an object's bytes are not text, whatever its type).
RAW_BODIES: Final = frozenset({"PUT /api/v1/objects/{key}"})
Place = tuple[tuple[str | int, ...], bool]  # the location, and whether it is a key there


def _places(value: Any, location: tuple[str | int, ...] = ()) -> list[Place]:
    if isinstance(value, dict):
        found: list[Place] = []
        for key, member in value.items():
            found.append(((*location, key), True))
            found.extend(_places(member, (*location, key)))
        return found
    if isinstance(value, list):
        return [p for i, member in enumerate(value) for p in _places(member, (*location, i))]
    return [(location, False)]


def _injected(body: Any, place: Place, lone: str, at: int) -> Any:
    location, in_key = place
    if not location:
        text = body if isinstance(body, str) else ""
        return text[: at % (len(text) + 1)] + lone + text[at % (len(text) + 1) :]
    copy = json.loads(json.dumps(body))  # a deep copy of plain JSON
    parent = copy
    for part in location[:-1]:
        parent = parent[part]
    last = location[-1]
    if in_key:
        parent[f"{last}{lone}"] = parent.pop(last)
    else:
        current = parent[last]
        text = current if isinstance(current, str) else ""
        cut = at % (len(text) + 1)
        parent[last] = text[:cut] + lone + text[cut:]
    return copy


def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    """The body as generated, or with a lone surrogate put in one of its places."""
    places = _places(body)
    operation = getattr(context, "operation", None)
    raw = operation is not None and operation.label in RAW_BODIES  # sent as bytes, YAML...
    if raw or isinstance(body, bytes) or not places:
        return st.just(body)
    surrogates = st.integers(0xD800, 0xDFFF).map(chr)
    injected = st.builds(
        lambda place, lone, at: _injected(body, place, lone, at),
        st.sampled_from(places),
        surrogates,
        st.integers(0, 64),
    )
    return st.one_of(st.just(body), injected)


def check(case: Any, response: Any) -> bool:
    """A JSON body holding a lone surrogate is a 400 ``request.invalid`` naming where it is;
    True if the body held one."""
    body = case.body
    if (
        case.operation.label in RAW_BODIES
        or "json" not in (case.media_type or "")
        or body is None
        or isinstance(body, bytes)
    ):
        return False
    found = lone_surrogate(json.dumps(body).encode(), body)
    if found is None:
        return False
    where = ".".join(str(part) for part in ("body", *found[0]))
    # A body over the route's size limit is refused before it is read (413).
    assert response.status_code in (400, 413, 429), (response.status_code, response.text)
    if response.status_code == 413:
        assert response.json()["code"] == "request.too_large", response.text
    if response.status_code == 400:
        problem = response.json()
        assert problem["code"] == "request.invalid", problem
        assert problem["errors"][0]["location"] == where, (problem, where)
    return True
