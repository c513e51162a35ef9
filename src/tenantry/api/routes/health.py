"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from tenantry.api.access import PUBLIC
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses

router = APIRouter(tags=["health"], dependencies=[PUBLIC], route_class=StrictJsonRoute)


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


@router.get("/healthz")
async def healthz() -> Health:
    """The process is alive (no I/O)."""
    return Health()


@router.get("/readyz", responses=problem_responses(503))
async def readyz(services: ServicesDep) -> Readiness:
    """The process can serve: the control database answers."""
    await services.registry.ping()
    return Readiness(checks={"control_db": "ok"})
