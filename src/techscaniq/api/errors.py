"""Error responses: every 4xx says what is wrong and, for bad input, which field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from techscaniq.api.auth import AuthError
from techscaniq.domain.errors import ConfigNotFoundError, QuotaExceededError
from techscaniq.storage.sql.write_health import unavailable_reason
from techscaniq.wording.validation import plain_message

log = logging.getLogger(__name__)

# Long enough for a transient blip (a failover, a lock holder finishing), short enough not to stall a client.
STORAGE_RETRY_AFTER_SECONDS = 10

_LOCATIONS = ("body", "query", "path", "header", "cookie")


def field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """One entry per problem: the field (dotted path), where it was sent (body, query, path) and why."""
    details = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc and loc[0] in _LOCATIONS else "body"
        path = [part for part in loc if part not in _LOCATIONS] if loc and loc[0] in _LOCATIONS else loc
        details.append({"field": ".".join(path), "in": where, "message": plain_message(error),
                        "type": error.get("type")})
    return details


class ForbiddenError(Exception):
    """Authenticated, but not allowed (HTTP 403)."""


class NotFoundError(LookupError):
    pass


class RateLimitedError(Exception):
    """Too many requests (HTTP 429); `retry_after` whole seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        what = {"key": "this credential",
                "scan-now": "scan-now requests of your organization (QUOTA_SCAN_NOW_PER_MINUTE)"}.get(scope,
                                                                                                  "your organization")
        super().__init__(f"rate limit of {what} exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


class FieldError(ValueError):
    """One field that passed its type but not its meaning (HTTP 422, same shape as validation)."""

    def __init__(self, field: str, message: str, location: str = "body", kind: str = "value_error") -> None:
        super().__init__(message)
        self.field, self.location, self.kind = field, location, kind


class ConflictError(Exception):
    """The request clashes with what exists (HTTP 409)."""


class BadRequestError(ValueError):
    """A request that is well formed but cannot be done (HTTP 400)."""


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

    async def rate_limited(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimitedError)
        return JSONResponse({"error": "rate_limited", "detail": str(exc)}, 429,
                            headers={"Retry-After": str(exc.retry_after)})

    async def bad_request(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "bad_request", "detail": str(exc)}, 400)

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "conflict", "detail": str(exc)}, 409)

    async def field_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FieldError)
        detail = [{"field": exc.field, "in": exc.location, "message": str(exc), "type": exc.kind}]
        return JSONResponse({"error": "validation_error", "detail": detail}, 422)

    async def quota_exceeded(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QuotaExceededError)
        detail = {"field": exc.field, "in": "body", "message": str(exc), "type": "quota_exceeded"}
        return JSONResponse({"error": "validation_error", "detail": [detail]}, 422)

    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        reason = unavailable_reason(exc)
        if reason is None:  # a bug of ours, not the backend's state: logged whole, answered without internals
            log.error("database error in %s %s", request.method, request.url.path, exc_info=exc)
            return JSONResponse({"error": "internal_error", "detail": "unexpected database error (see the server "
                                 "log)"}, 500)
        return JSONResponse(
            {"error": "storage_unavailable",
             "detail": f"the database cannot take requests now: {reason}. Nothing of this request was stored; "
                       f"retry in {STORAGE_RETRY_AFTER_SECONDS} s"},
            503, headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})

    app.add_exception_handler(SQLAlchemyError, storage_error)
    app.add_exception_handler(ConnectionError, storage_error)
    app.add_exception_handler(FieldError, field_error)
    app.add_exception_handler(QuotaExceededError, quota_exceeded)
    app.add_exception_handler(ConflictError, conflict)
    app.add_exception_handler(RateLimitedError, rate_limited)
    app.add_exception_handler(BadRequestError, bad_request)
    app.add_exception_handler(ValidationError, validation)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(AuthError, unauthorized)
    app.add_exception_handler(ForbiddenError, forbidden)
    app.add_exception_handler(ConfigNotFoundError, not_found)
    app.add_exception_handler(NotFoundError, not_found)
