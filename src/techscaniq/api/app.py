"""The FastAPI application over the services the composition root gives it (OpenAPI at /docs, dashboard at /)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import FastAPI, Request, Response

from techscaniq import __version__
from techscaniq.accounts import (
    audit_routes,
    invitation_routes,
    key_routes,
    member_routes,
    sso_routes,
    totp_routes,
)
from techscaniq.accounts import routes as access_routes
from techscaniq.accounts.audit import AuditTrail
from techscaniq.api import (
    alerts,
    auth_routes,
    changes,
    configs,
    deliveries,
    fingerprints,
    operations,
    rules,
    scans,
    schedules,
    search,
    silences,
    sites,
)
from techscaniq.api.body_guard import RequestGuard
from techscaniq.api.body_limit import BodyLimit
from techscaniq.api.body_schemas import install_body_schemas
from techscaniq.api.dashboard import install_dashboard
from techscaniq.api.docs_page import install_docs
from techscaniq.api.error_models import ERROR_RESPONSES
from techscaniq.api.errors import install_error_handlers
from techscaniq.api.ratelimit import InMemoryRateLimiter, RateLimiter
from techscaniq.api.security_headers import SecurityHeaders
from techscaniq.api.services import ApiServices
from techscaniq.observability.metrics import HTTP_REQUESTS

DESCRIPTION = """Continuous monitoring of websites: technology stack, performance, security grade, changes
and alerts. Authenticate with `Authorization: Bearer <JWT>` (from `techscaniq token --organization ORG` or
`POST /api/v1/auth/token`) or `X-API-Key: <key>`. Every response is limited to your organization."""


class ServesApi(Protocol):
    """Whatever can give the API its services (the running system: tests pass it whole)."""

    @property
    def api_services(self) -> ApiServices: ...


def create_app(source: ApiServices | ServesApi, rate_limiter: RateLimiter | None = None) -> FastAPI:
    """`rate_limiter`: a shared implementation (e.g. Redis) when several replicas serve the API."""
    services = source if isinstance(source, ApiServices) else source.api_services
    app = FastAPI(title="TechScanIQ Continuous Monitoring", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    install_docs(app)
    install_body_schemas(app)
    app.state.services = services
    app.state.rate_limiter = rate_limiter or InMemoryRateLimiter()
    install_error_handlers(app)
    app.add_middleware(RequestGuard)
    for module in (operations, auth_routes, configs, rules, scans, sites, changes, alerts, deliveries, silences,
                   fingerprints, schedules, search, access_routes, member_routes, key_routes, audit_routes,
                   invitation_routes, totp_routes, sso_routes):
        # The probes answer no error body of ours; every other operation documents the ones it may return.
        app.include_router(module.router, responses=None if module is operations else ERROR_RESPONSES)
    app.add_api_websocket_route("/ws", services.realtime.endpoint)
    if services.settings.dashboard_enabled:
        install_dashboard(app)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")  # the template, so ids do not explode the labels
        HTTP_REQUESTS.labels(request.method, template, str(response.status_code)).inc()
        return response

    app.add_middleware(AuditTrail, services=services)  # every write, whichever route and whatever its answer
    # Added last, so outside every middleware and route: none reads a byte of a body over the limit.
    app.add_middleware(BodyLimit, max_bytes=services.settings.max_request_body_bytes)
    app.add_middleware(SecurityHeaders)  # outside the body limit, so its 413 carries the headers too
    return app
