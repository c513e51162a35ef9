"""``/chat``: a page where a person talks to a tenant's flow with a visitor credential."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from tenantry.api import chatpage
from tenantry.api.access import PUBLIC
from tenantry.api.bodies import StrictJsonRoute

router = APIRouter(tags=["webchat"], dependencies=[PUBLIC], route_class=StrictJsonRoute)


@router.get("/chat", response_class=HTMLResponse, summary="The webchat page")
async def chat_page() -> HTMLResponse:
    """The page (the same for everyone: it holds nothing of a tenant). Open it as
    ``/chat#token=<visitor credential>``, or paste the credential into it."""
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(
        chatpage.render(nonce),
        headers={
            "Content-Security-Policy": chatpage.policy(nonce),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        },
    )
