"""The services scripts/services.sh starts (PostgreSQL, Redis, Kafka), as the tests find them."""

from __future__ import annotations

import os

import pytest


def service_url(name: str) -> str:
    """The value of the environment variable `name` (DATABASE_URL, KAFKA_SERVERS, ...). Missing, the test is
    skipped on a developer's machine and fails in CI, where `make test` must have started the service."""
    value = os.environ.get(name)
    if value:
        return value
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is not set in CI: run the tests through `make test` (scripts/services.sh)")
    pytest.skip(f"{name} is not set: start the services with `make services`")
