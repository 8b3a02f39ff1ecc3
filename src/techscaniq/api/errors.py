"""Error responses: every 4xx says what is wrong and, for bad input, which field."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from techscaniq.api.auth import AuthError
from techscaniq.system import ConfigNotFoundError


def field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        details.append({"field": ".".join(location), "message": error.get("msg", ""), "type": error.get("type")})
    return details


class ForbiddenError(Exception):
    """Authenticated, but not allowed (HTTP 403)."""


class NotFoundError(LookupError):
    pass


def install_error_handlers(app: FastAPI) -> None:
    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError | RequestValidationError)
        return JSONResponse({"error": "validation_error", "detail": field_errors(list(exc.errors()))}, 422)

    async def unauthorized(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "unauthorized", "detail": str(exc)}, 401,
                            headers={"WWW-Authenticate": "Bearer"})

    async def forbidden(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "forbidden", "detail": str(exc)}, 403)

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "not_found", "detail": str(exc)}, 404)

    app.add_exception_handler(ValidationError, validation)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(AuthError, unauthorized)
    app.add_exception_handler(ForbiddenError, forbidden)
    app.add_exception_handler(ConfigNotFoundError, not_found)
    app.add_exception_handler(NotFoundError, not_found)
