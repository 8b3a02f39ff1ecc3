"""Errors of the domain that every layer may raise or translate (the API turns them into HTTP answers)."""

from __future__ import annotations


class ConfigNotFoundError(LookupError):
    def __init__(self, config_id: str) -> None:
        super().__init__(f"no monitoring config with id {config_id!r}")
        self.config_id = config_id


class QuotaExceededError(Exception):
    """An organization would pass one of the deployment's quotas (HTTP 422 naming the field and the setting)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
