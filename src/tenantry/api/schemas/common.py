"""OpenAPI pieces shared by the runtime routes."""

from __future__ import annotations

from typing import Any, Final

from tenantry.api.problems import MEDIA_TYPE, Problem

TOO_LARGE: Final[dict[int | str, dict[str, Any]]] = {
    413: {
        "model": Problem,
        "description": "Content Too Large: the body is over the route's limit "
        "(`request.too_large`).",
        "content": {MEDIA_TYPE: {}},
    }
}
