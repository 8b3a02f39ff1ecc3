"""/health, /ready and /metrics: what load balancers, Kubernetes probes and Prometheus read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from techscaniq.api.auth import organization_from_token
from techscaniq.api.dependencies import credentials_of, get_services
from techscaniq.api.services import ApiServices
from techscaniq.observability.metrics import REGISTRY

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Status of every component: healthy, degraded (working, short of something) or "
                               "unhealthy (503, a component is down)")
async def health(request: Request, services: ApiServices = Depends(get_services)) -> JSONResponse:
    """Without credentials: the status and each component's status. With a token or API key: also the
    instance, the mode and each component's detail (paths, counts, what is failing)."""
    report = await services.health.health()
    status_code = 503 if report["status"] == "unhealthy" else 200
    if await organization_from_token(services, credentials_of(request)) is None:
        report = {"status": report["status"],
                  "components": {name: {"status": c["status"]} for name, c in report["components"].items()}}
    return JSONResponse(report, status_code=status_code)


@router.get("/ready", summary="200 when this replica can take work")
async def ready(services: ApiServices = Depends(get_services)) -> JSONResponse:
    ok = await services.health.ready()
    return JSONResponse({"ready": ok}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(services: ApiServices = Depends(get_services)) -> Response:
    await services.health.observe()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
