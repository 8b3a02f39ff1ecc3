"""Waiting quietly for Kafka's group coordinator.

On a broker's first start (or while it elects a coordinator) aiokafka logs an ERROR for every lookup it retries,
"Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError": a scale-out replica printed 42
such lines before its banner, for a wait that ends by itself. The lookup is retried anyway; what the log needs is
one line that says the consumers wait for the coordinator, not one per poll. Errors that are not a retriable
coordinator lookup pass through untouched.
"""

from __future__ import annotations

import logging

AIOKAFKA_COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
_LOOKUP_FAILED = "Group Coordinator Request failed"
_WAITING = ("GroupCoordinatorNotAvailableError", "NotCoordinatorForGroupError", "CoordinatorLoadInProgressError",
            "RequestTimedOutError", "NodeNotReadyError")

log = logging.getLogger("techscaniq.bus.kafka")


class CoordinatorWaitFilter(logging.Filter):
    """Drops aiokafka's per-retry coordinator lookup errors, saying once that the consumers wait for it."""

    def __init__(self) -> None:
        super().__init__()
        self.said = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(_LOOKUP_FAILED) or not any(name in message for name in _WAITING):
            return True
        if not self.said:
            self.said = True
            log.warning("waiting for the Kafka group coordinator (%s); consumers join once the broker has one",
                        message.removeprefix(_LOOKUP_FAILED).lstrip(": "))
        return False


def wait_for_coordinator_quietly() -> None:
    """Install the filter once per process (each bus start calls this)."""
    logger = logging.getLogger(AIOKAFKA_COORDINATOR_LOGGER)
    if not any(isinstance(existing, CoordinatorWaitFilter) for existing in logger.filters):
        logger.addFilter(CoordinatorWaitFilter())
