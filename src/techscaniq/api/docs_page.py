"""/docs: Swagger UI served from the installed swagger-ui-bundle, so it works without internet access
(FastAPI's default page loads its scripts from a CDN). Its start-up script is a file of its own, /docs/init.js,
so the page's Content-Security-Policy needs no inline scripts (api/security_headers.py)."""

from __future__ import annotations

import html
import json

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# FastAPI's own Swagger UI settings.
INIT_JS = """SwaggerUIBundle({{
  url: {openapi_url},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def install_docs(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(PAGE.format(title=html.escape(f"{app.title} — API"), assets=ASSETS))

    @app.get("/docs/init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        script = INIT_JS.format(openapi_url=json.dumps(app.openapi_url or "/openapi.json"))
        return Response(script, media_type="text/javascript")
