"""JSON request bodies read strictly, on every route: text that is not Unicode (a lone UTF-16
surrogate, written as a ``\\ud800`` escape or as the bytes that would encode one) is refused
while the body is parsed, with a 400 naming the field, before any route or store sees it.

Paths, query strings and headers cannot carry such text (the server decodes the first two
with replacement and headers as Latin-1), so the body is the one way in. See ``docs/input.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute

from tenantry.api.problems import InvalidBody

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Location = tuple[str | int, ...]

# A \u escape of D800-DFFF: only such an escape (or bytes that are not strict UTF-8) can put a
# surrogate into what json.loads returns. An escaped backslash ("\\ud800") matches too, and is
# then cleared by the walk, which looks at the parsed strings themselves.
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class StrictJsonRequest(Request):
    """A request whose :meth:`json` refuses lone surrogates anywhere in the value."""

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            body = await self.body()
            value = json.loads(body)
            found = lone_surrogate(body, value)
            if found is not None:
                raise _refusal(found)
            self._strict_json = value
        return self._strict_json


class StrictJsonRoute(APIRoute):
    """The route class of every router: its handler reads the body as a
    :class:`StrictJsonRequest` (a test walks the app's routes to keep it so)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return run


def lone_surrogate(body: bytes, value: Any) -> tuple[Location, bool] | None:
    """Where ``value`` (parsed from ``body``) holds a lone surrogate: the location and whether
    it is in a key; None when it holds none (decided from the bytes alone, usually)."""
    if not _SURROGATE_ESCAPE.search(body) and _strict_utf8(body):
        return None
    stack: list[tuple[Location, Any]] = [((), value)]
    while stack:
        location, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return location, False
        elif isinstance(item, dict):
            for key, member in item.items():
                if _SURROGATE.search(key):
                    return location, True
                stack.append(((*location, key), member))
        elif isinstance(item, list):
            stack.extend(((*location, i), member) for i, member in enumerate(item))
    return None


def _strict_utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode("utf-8")  # strict: the three bytes of an encoded surrogate are refused
    except UnicodeDecodeError:
        return False
    return True


def _refusal(found: tuple[Location, bool]) -> InvalidBody:
    location, in_key = found
    where = ".".join(str(part) for part in ("body", *location))
    what = "a key of this object" if in_key else "this string"
    message = (
        f"{what} holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), "
        "which is not Unicode text"
    )
    return InvalidBody(
        "the request body holds text that is not Unicode",
        [{"location": where, "message": message, "input": None}],
    )
