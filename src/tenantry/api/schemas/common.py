"""OpenAPI pieces shared by the runtime routes."""

from __future__ import annotations

from typing import Any, Final

from tenantry.api.problems import MEDIA_TYPE, Problem

TOO_LARGE: Final[dict[int | str, dict[str, Any]]] = {
    413: {
        "model": Problem,
        "description": "Content Too Large: the body is over the route's limit "
        "(`request.too_large`), or a value in it over the size its resource allows "
        "(`session.too_large`, `state.too_large`, `secret.too_large`, "
        "`search.document_too_large`, `object.too_large`). The detail gives the size sent "
        "and the limit.",
        "content": {MEDIA_TYPE: {}},
    }
}

STORAGE_QUOTA: Final[dict[int | str, dict[str, Any]]] = {
    403: {
        "model": Problem,
        "description": "Forbidden: the caller may not do this, or the tenant's storage quota "
        "for this resource is used up (`quota.exceeded`).",
        "content": {MEDIA_TYPE: {}},
    },
    413: {
        **TOO_LARGE[413],
        "description": "Content Too Large: the body is over the route's limit "
        "(`request.too_large`), a value in it over the size its resource allows "
        "(`*.too_large`), or the write does not fit the room the tenant's storage quota "
        "leaves (`quota.too_large`, counted in stored bytes, as the detail says).",
    },
}
"""The answers of a route that stores tenant data: :data:`TOO_LARGE` and the quota's."""
