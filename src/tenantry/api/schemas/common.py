"""OpenAPI pieces shared by the runtime routes."""

from __future__ import annotations

from typing import Any, Final

TOO_LARGE: Final[dict[int | str, dict[str, Any]]] = {
    413: {
        "description": "Content Too Large: the body is over the route's limit (sent as plain "
        "text when Content-Length announced it, as a problem document otherwise)."
    }
}
