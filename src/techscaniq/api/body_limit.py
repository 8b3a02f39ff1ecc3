"""Request bodies over `MAX_REQUEST_BODY_BYTES` are a 413 before they are read, parsed or authenticated.

A declared `Content-Length` over the limit is answered before one byte of the body is read. A body of unknown
length (chunked) is counted as it streams past and answered as soon as it passes the limit; nothing here holds
more than the one chunk the server just handed over. The rest of such a body is never seen by the app."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware, outside everything that reads a body (FastAPI parses JSON bodies before it authenticates)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                # Counted whatever the header said: the limit holds even if a server passed on more than declared.
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    # To the app the client is gone: it stops reading, and what it answers is dropped below.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # our 413 was the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            # A route that was reading the body when it was cut off raises (ClientDisconnect); that is our doing.
            if not refused:
                raise

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps({"error": "payload_too_large",
                              "detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request itself; counting still applies
    return None
