"""/health, /ready and /metrics: what load balancers, Kubernetes probes and Prometheus read."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from techscaniq.api.dependencies import get_system
from techscaniq.observability.metrics import REGISTRY
from techscaniq.system import MonitoringSystem

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Status of every component: healthy, degraded (working, short of something) or "
                               "unhealthy (503, a component is down)")
async def health(system: MonitoringSystem = Depends(get_system)) -> JSONResponse:
    report = await system.health()
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


@router.get("/ready", summary="200 when this replica can take work")
async def ready(system: MonitoringSystem = Depends(get_system)) -> JSONResponse:
    ok = await system.ready()
    return JSONResponse({"ready": ok}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(system: MonitoringSystem = Depends(get_system)) -> Response:
    await system.observe()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
