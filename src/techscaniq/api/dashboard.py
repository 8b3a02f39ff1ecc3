"""The dashboard at /: static HTML, CSS and JavaScript from api/static (no build step, nothing from
a CDN). It signs in with an API key (exchanged for a JWT) or a token and talks to the same API. Its
Content-Security-Policy is set with every other response's, in api/security_headers.py."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
