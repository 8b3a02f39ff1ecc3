"""aiokafka's coordinator lookup retries are one line in our log, not one ERROR per poll. The records are logged
through aiokafka's own logger, with its own error objects, the way its lookup loop logs them (a broker without a
coordinator cannot be made on demand here); other aiokafka errors still pass."""

from __future__ import annotations

import logging

import pytest
from aiokafka import errors

from techscaniq.bus.coordinator_wait import (
    AIOKAFKA_COORDINATOR_LOGGER,
    CoordinatorWaitFilter,
    wait_for_coordinator_quietly,
)


def test_coordinator_lookup_retries_are_said_once_and_other_errors_pass(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    aiokafka_log = logging.getLogger(AIOKAFKA_COORDINATOR_LOGGER)
    for earlier in [f for f in aiokafka_log.filters if isinstance(f, CoordinatorWaitFilter)]:
        aiokafka_log.removeFilter(earlier)  # a Kafka test before this one may have said its line already
    wait_for_coordinator_quietly()
    wait_for_coordinator_quietly()  # a second bus start adds no second filter
    filters = aiokafka_log.filters[:]
    try:
        for _ in range(42):
            aiokafka_log.error("Group Coordinator Request failed: %s", errors.CoordinatorNotAvailableError())
        aiokafka_log.error("Heartbeat session expired - marking coordinator dead")
        lines = [(record.name, record.levelname, record.getMessage()) for record in caplog.records]
        assert lines == [
            ("techscaniq.bus.kafka", "WARNING", "waiting for the Kafka group coordinator ([Error 15] "
             "GroupCoordinatorNotAvailableError); consumers join once the broker has one"),
            (AIOKAFKA_COORDINATOR_LOGGER, "ERROR", "Heartbeat session expired - marking coordinator dead"),
        ]
        assert len(filters) == 1
    finally:
        for installed in filters:
            aiokafka_log.removeFilter(installed)
