"""/docs (Swagger UI 5) and /redoc (ReDoc 2), both from files installed with the package (fastapi-offline
ships the two bundles), so they work without internet access: FastAPI's default pages load their scripts
from a CDN, and the Swagger UI of swagger-ui-bundle (4.x) cannot read the OpenAPI 3.1 document FastAPI
writes. Each page's start-up script is a file of its own (/docs/init.js, /redoc/init.js), so the pages'
Content-Security-Policy needs no inline scripts (api/security_headers.py)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png (package data of fastapi-offline).
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="redoc"></div>
<script src="{assets}/redoc.standalone.js"></script>
<script src="/redoc/init.js"></script>
</body>
</html>
"""

# FastAPI's own Swagger UI settings.
SWAGGER_INIT_JS = """SwaggerUIBundle({{
  url: {openapi_url},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""

# No Google fonts (FastAPI's page loads them): the system's fonts, offline.
REDOC_INIT_JS = """Redoc.init({openapi_url}, {{
  theme: {{typography: {{fontFamily: "system-ui, sans-serif", headings: {{fontFamily: "system-ui, sans-serif"}}}}}}
}}, document.getElementById("redoc"));
"""


def install_docs(app: FastAPI) -> None:
    """Call with FastAPI(docs_url=None, redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")
    title = html.escape(f"{app.title} — API")
    openapi_url = json.dumps(app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=title, assets=ASSETS))

    @app.get("/docs/init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(SWAGGER_INIT_JS.format(openapi_url=openapi_url), media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE.format(title=title, assets=ASSETS))

    @app.get("/redoc/init.js", include_in_schema=False)
    async def redoc_init() -> Response:
        return Response(REDOC_INIT_JS.format(openapi_url=openapi_url), media_type="text/javascript")
