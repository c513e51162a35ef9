"""Bodies of ``/api/v1/state``: a session's working memory is one JSON value."""

from __future__ import annotations

from pydantic import BaseModel, JsonValue


class StateOut(BaseModel):
    session_id: str
    team_id: str
    value: JsonValue
