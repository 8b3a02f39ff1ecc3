"""The audit log: every write to the API (POST, PUT, PATCH, DELETE) and every sign-in and setup attempt,
with who, when, from where, the answer's status and what was sent (secrets masked).

An ASGI middleware, so no route can forget it: it taps the body as the route reads it (nothing is read twice
or held beyond what the route itself reads) and records once the answer has started. The route's
dependencies leave who called in the scope (`AUDIT_SCOPE_KEY`); a request that failed authentication is
recorded under the organization it named, when one is known. Only the first MAX_DETAIL_BYTES of a body
are kept."""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from techscaniq.api.masking import MASK
from techscaniq.domain.common import utcnow

if TYPE_CHECKING:
    from techscaniq.api.auth import Principal
    from techscaniq.api.services import ApiServices

log = logging.getLogger("techscaniq.audit")

AUDIT_SCOPE_KEY = "techscaniq.audit"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_DETAIL_BYTES = 16 * 1024
# Field names whose values are secrets wherever they appear; channel settings are secrets as a whole.
SECRET_FIELD = re.compile(r"pass|secret|token|key|auth|cookie|credential|totp|code|url|headers|dsn", re.IGNORECASE)
CHANNEL_FIELDS_SHOWN = frozenset({"type", "name", "enabled"})


def note_principal(scope: Scope, principal: Principal) -> None:
    context = scope.get(AUDIT_SCOPE_KEY)
    if isinstance(context, dict):
        context["actor"] = principal.subject
        context["organization_ids"] = [principal.organization_id]


def note_organizations(scope: Scope, organization_ids: list[str], actor: str | None = None) -> None:
    """For routes without a principal (sign-in, setup): where their attempt is recorded."""
    context = scope.get(AUDIT_SCOPE_KEY)
    if isinstance(context, dict):
        context["organization_ids"] = organization_ids
        if actor is not None:
            context["actor"] = actor


def masked(value: Any, in_channel: bool = False) -> Any:
    """`value` with every secret replaced by the mask."""
    if isinstance(value, dict):
        shown = {}
        for key, item in value.items():
            name = str(key)
            if (in_channel and name not in CHANNEL_FIELDS_SHOWN) or (SECRET_FIELD.search(name) and item not in
                                                                     (None, "", [], {})):
                shown[name] = MASK if not isinstance(item, dict | list) or in_channel else masked(item, True)
            else:
                shown[name] = masked(item, in_channel or name == "notification_channels")
        return shown
    if isinstance(value, list):
        return [masked(item, in_channel) for item in value]
    return value


class AuditTrail:
    def __init__(self, app: ASGIApp, services: ApiServices) -> None:
        self.app, self.services = app, services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        context: dict[str, Any] = {}
        scope[AUDIT_SCOPE_KEY] = context
        body = bytearray()
        status = 0

        async def tapped_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < MAX_DETAIL_BYTES:
                body.extend(message.get("body", b"")[:MAX_DETAIL_BYTES - len(body)])
            return message

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, tapped_receive, watched_send)
        finally:
            await self._record(scope, context, bytes(body), status or 500)

    async def _record(self, scope: Scope, context: dict[str, Any], body: bytes, status: int) -> None:
        organizations = context.get("organization_ids") or []
        if not organizations:
            return  # no principal and no organization named: nothing an organization's admins could be shown
        route = scope.get("route")
        template = str(getattr(route, "path", scope["path"]))
        client = scope.get("client")
        details: dict[str, Any] = {"path": scope["path"]}
        if body:
            try:
                details["body"] = masked(json.loads(body))
            except ValueError:
                cut = ", truncated" if len(body) >= MAX_DETAIL_BYTES else ""
                details["body"] = f"({len(body)} bytes, not JSON{cut})"
        path_params = scope.get("path_params") or {}
        target = "/".join(str(value) for value in path_params.values())
        try:
            for organization_id in organizations:
                await self.services.storage.audit.add(
                    organization_id, utcnow(), str(context.get("actor", "anonymous")),
                    client[0] if client else "", f"{scope['method']} {template}", target, status, details)
        except Exception:  # the answer is sent; a failed audit write must not turn it into an error
            log.exception("could not record the audit entry of %s %s", scope["method"], template)
