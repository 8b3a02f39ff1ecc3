"""What every event bus offers. Delivery is at least once; handlers must be idempotent by event id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from techscaniq.domain.events import Event, Topic

Handler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop consuming; events already handed to a handler get up to `drain_seconds` to finish."""
        ...

    async def publish(self, event: Event) -> None:
        """Durable (or queued with back-pressure) when it returns."""
        ...

    def subscribe(self, topic: Topic, group: str, handler: Handler, concurrency: int = 1) -> None:
        """Each group gets every event of the topic once; members of one group share them.
        The event is acknowledged only after `handler` returns; if it raises, it is retried.
        Up to `concurrency` events run at once, but events with the same key never overlap
        and keep their order (shard by key)."""
        ...

    def queue_depths(self) -> dict[str, int]:
        """Events waiting per `topic/group`, for the queue-depth gauge."""
        ...

    @property
    def healthy(self) -> bool: ...


def retry_line(event: Event, consumer: str, attempt: int, attempts: int, error: BaseException, delay: float) -> str:
    """One log line per failed attempt of a handler: which attempt of how many, the error, the next try. The
    traceback is logged once, with the last attempt (a traceback per attempt buried the line that mattered)."""
    message = str(error).strip()
    first_line = message.splitlines()[0] if message else "(no message)"
    return (f"event {event.id} on {consumer} failed (attempt {attempt} of {attempts}): {type(error).__name__}: "
            f"{first_line}; retrying in {delay:.2f} s")
