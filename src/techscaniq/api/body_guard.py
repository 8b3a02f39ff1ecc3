"""Requests that would reach the database or the parser's stack as a 500 are a 422 naming the field: JSON bodies
with NUL characters or nested too deep, and NUL characters in the path or a query parameter (PostgreSQL
refuses NUL in text, whatever column or filter it would land in).

Only bodies that can break a limit are looked at twice: ones that mention a NUL character or hold more
brackets than the nesting limit. The rest pass with one `in` check and two byte counts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from techscaniq.domain.documents import MAX_NESTING, DocumentError, check_document


def body_problem(body: bytes) -> DocumentError | None:
    """Why a JSON body must be refused, or None (also None for invalid JSON: the route says what is wrong)."""
    # JSON writes the escape with a lower-case u, and "0000" has no letters: no case folding (a copy) needed.
    suspicious = b"\x00" in body or b"\\u0000" in body
    if not suspicious and body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return None
    try:
        document = json.loads(body)
    except RecursionError:
        return DocumentError("", f"nested deeper than {MAX_NESTING} levels")
    except ValueError:
        return None
    try:
        check_document(document)
    except DocumentError as problem:
        return problem
    return None


def url_problem(scope: Scope) -> tuple[str, DocumentError] | None:
    """("path" or "query", the problem) when the path or a query parameter holds a NUL character."""
    if "\x00" in scope.get("path", ""):
        return "path", DocumentError("", "must not contain NUL characters")
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return "query", DocumentError(name.replace("\x00", ""), "must not contain NUL characters")
    return None


class RequestGuard:
    """ASGI middleware: refuses a path or query with NUL characters, and reads a JSON request body (bounded by
    the body-size limit in front of it) to refuse it when `body_problem` finds one, else hands the same bytes
    on. Refusals are the API's validation error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (found := url_problem(scope)) is not None:
            await _refuse(send, found[1], where=found[0])
            return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = body_problem(body)
        if problem is not None:
            await _refuse(send, problem)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _refuse(send: Send, problem: DocumentError, where: str = "body") -> None:
    detail: dict[str, Any] = {"field": problem.field, "in": where, "message": problem.reason, "type": "value_error"}
    payload = json.dumps({"error": "validation_error", "detail": [detail]}).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
