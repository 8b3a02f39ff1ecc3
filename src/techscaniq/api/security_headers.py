"""Every response says `nosniff` and carries a Content-Security-Policy that forbids framing.

Four policies: the dashboard (our own files, the API and its WebSocket on this origin), the API docs (Swagger
UI and ReDoc from /docs-assets; ReDoc's page also allows inline styles), and everything else, which is data and
may load nothing at all."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI styles through the DOM (not inline markup) and its start-up script is a file (docs_page.INIT_JS):
# nothing inline is needed. It fetches /openapi.json and sends "Try it out" requests to this origin.
DOCS_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# ReDoc styles through styled-components, which writes <style> elements (their rules cannot be loaded from a
# file): inline styles only on this page, scripts still from this origin alone; its search runs in a blob: worker.
REDOC_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_DASHBOARD = ("default-src 'self'; connect-src {connect}; img-src 'self' data:; style-src 'self'; script-src 'self'; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# A Host header fit to be named in a policy: a name or IP literal and a port, nothing that could end a directive.
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


def dashboard_policy(host: str | None) -> str:
    """The dashboard's WebSocket is /ws on the page's own host and port (static/app.js). 'self' covers it in
    current browsers; the ws:// and wss:// forms of this origin are named for those where it does not."""
    connect = "'self'"
    if host and _HOST.fullmatch(host):
        connect += f" ws://{host} wss://{host}"
    return _DASHBOARD.format(connect=connect)


def policy_for(path: str, host: str | None) -> str:
    if path == "/" or path.startswith("/static/"):
        return dashboard_policy(host)
    if path == "/redoc":
        return REDOC_POLICY
    if path == "/docs" or path.startswith(("/docs/", "/redoc/", "/docs-assets/")):
        return DOCS_POLICY
    return API_POLICY


class SecurityHeaders:
    """ASGI middleware, outermost: also on the 413 of the body limit and on 404s of no route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"host"), None)
        added = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                 (b"content-security-policy", policy_for(scope["path"], host).encode())]
        replaced = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message.get("headers", ()) if name.lower() not in replaced]
                message = {**message, "headers": kept + added}
            await send(message)

        await self.app(scope, receive, send_with_headers)
