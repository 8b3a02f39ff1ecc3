"""The error bodies the API really returns, as OpenAPI schemas: every operation documents them, so a client
generated from /openapi.json knows `{"error": ..., "detail": ...}` (errors.py writes them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error except bad input: a stable code and a sentence saying what is wrong."""

    error: str = Field(examples=["not_found"], description="unauthorized, forbidden, not_found, conflict, "
                       "bad_request, payload_too_large, rate_limited, storage_unavailable, internal_error")
    detail: str = Field(examples=["no monitoring config with id 'shop'"])


class FieldProblem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(examples=["schedule.timezone"], description="dotted path of the field ('' for the whole body)")
    location: str = Field(alias="in", examples=["body"], description="body, query or path")
    message: str
    type: str | None = Field(default=None, examples=["value_error"], description="e.g. value_error, quota_exceeded")


class ValidationErrorBody(BaseModel):
    """Bad input (422): one entry per problem, naming the field."""

    error: Literal["validation_error"]
    detail: list[FieldProblem]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("Missing, invalid, expired or revoked credentials"),
    403: _error("Authenticated, but the role does not allow it"),
    404: _error("No such resource in your organization"),
    409: _error("Clashes with what exists (an id in use, a delivered notification)"),
    413: _error("Request body over MAX_REQUEST_BODY_BYTES"),
    422: {"model": ValidationErrorBody, "description": "Invalid input, naming each field"},
    429: _error("Rate limit or quota of the credential or organization; see Retry-After"),
    503: _error("The database cannot take the request now (full disk, read-only, not answering); nothing of it was "
                "stored — retry after Retry-After seconds"),
}
