"""FastAPI dependencies: the system and the calling principal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from techscaniq.api.auth import Principal, principal_from_credentials
from techscaniq.api.errors import ForbiddenError

if TYPE_CHECKING:
    from techscaniq.system import MonitoringSystem


def get_system(request: Request) -> MonitoringSystem:
    system: MonitoringSystem = request.app.state.system
    return system


def get_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.headers.get("x-api-key")
    return principal_from_credentials(get_system(request).settings, token)


def require_writer(request: Request) -> Principal:
    principal = get_principal(request)
    if not principal.can_write:
        raise ForbiddenError("this action needs the admin role")
    return principal
