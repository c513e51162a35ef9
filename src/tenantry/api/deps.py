"""Request dependencies: the process's services.

(Who the caller is, and what it may do, is :mod:`tenantry.api.caller`'s.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tenantry.bootstrap import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
