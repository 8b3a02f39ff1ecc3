"""The FastAPI application of one MonitoringSystem (OpenAPI at /docs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from techscaniq import __version__
from techscaniq.api import configs, operations, scans
from techscaniq.api.errors import install_error_handlers

if TYPE_CHECKING:
    from techscaniq.system import MonitoringSystem


def create_app(system: MonitoringSystem) -> FastAPI:
    app = FastAPI(title="TechScanIQ Continuous Monitoring", version=__version__)
    app.state.system = system
    install_error_handlers(app)
    app.include_router(operations.router)
    app.include_router(configs.router)
    app.include_router(scans.router)
    app.add_api_websocket_route("/ws", system.realtime.endpoint)
    return app
