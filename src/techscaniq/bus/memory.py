"""The in-process event bus of the embedded deployment: bounded asyncio queues with back-pressure.

Each (topic, group) subscription has `concurrency` shards; an event goes to the shard of its key,
so one config's events are handled in order while different configs run in parallel. A handler
that raises is retried with backoff (at least once); after `max_attempts` the event is logged as
dead rather than blocking its shard forever. Durability across crashes is not the bus's job here:
the scheduler's leases and the scans' stage flags let a restarted process redo what was lost."""

from __future__ import annotations

import asyncio
import logging
import zlib
from dataclasses import dataclass, field

from techscaniq.bus.protocol import Handler, retry_line
from techscaniq.domain.events import Event, Topic
from techscaniq.observability.metrics import EVENT_HANDLER_ERRORS, EVENTS_PUBLISHED, QUEUE_CAPACITY

log = logging.getLogger(__name__)


@dataclass
class _Subscription:
    topic: Topic
    group: str
    handler: Handler
    queues: list[asyncio.Queue[Event]]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.topic.value}/{self.group}"


class InMemoryEventBus:
    def __init__(self, queue_size: int = 10_000, max_attempts: int = 8, retry_base_seconds: float = 0.05) -> None:
        self._queue_size = queue_size
        self.max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._subscriptions: list[_Subscription] = []
        self._running = False

    async def start(self) -> None:
        self._running = True
        for subscription in self._subscriptions:
            self._start_workers(subscription)

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Let queued events finish for up to `drain_seconds`, then cancel the workers."""
        self._running = False
        try:
            await asyncio.wait_for(self.join(), timeout=drain_seconds)
        except TimeoutError:
            log.warning("event bus stopped with events still queued: %s", self.queue_depths())
        for subscription in self._subscriptions:
            for task in subscription.tasks:
                task.cancel()
            await asyncio.gather(*subscription.tasks, return_exceptions=True)
            subscription.tasks.clear()

    async def join(self) -> None:
        """Wait until every queued event has been handled (used by tests and graceful stop)."""
        for subscription in self._subscriptions:
            for queue in subscription.queues:
                await queue.join()

    async def publish(self, event: Event) -> None:
        EVENTS_PUBLISHED.labels(event.topic.value).inc()
        for subscription in self._subscriptions:
            if subscription.topic == event.topic:
                shard = zlib.crc32(event.key.encode()) % len(subscription.queues)
                await subscription.queues[shard].put(event)  # blocks when full: back-pressure

    def subscribe(self, topic: Topic, group: str, handler: Handler, concurrency: int = 1) -> None:
        shard_size = max(1, self._queue_size // max(1, concurrency))
        subscription = _Subscription(
            topic, group, handler, [asyncio.Queue(maxsize=shard_size) for _ in range(max(1, concurrency))]
        )
        self._subscriptions.append(subscription)
        QUEUE_CAPACITY.labels(subscription.name).set(shard_size * len(subscription.queues))
        if self._running:
            self._start_workers(subscription)

    def queue_depths(self) -> dict[str, int]:
        return {s.name: sum(q.qsize() for q in s.queues) for s in self._subscriptions}

    @property
    def healthy(self) -> bool:
        return self._running and all(not t.done() for s in self._subscriptions for t in s.tasks)

    def _start_workers(self, subscription: _Subscription) -> None:
        for index, queue in enumerate(subscription.queues):
            task = asyncio.create_task(self._work(subscription, queue), name=f"bus:{subscription.name}:{index}")
            subscription.tasks.append(task)

    async def _work(self, subscription: _Subscription, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await self._handle(subscription, event)
            finally:
                queue.task_done()

    async def _handle(self, subscription: _Subscription, event: Event) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await subscription.handler(event)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                EVENT_HANDLER_ERRORS.labels(subscription.topic.value, subscription.group).inc()
                if attempt == self.max_attempts:
                    log.exception(
                        "event %s on %s failed %d times; giving up (dead letter)", event.id, subscription.name, attempt
                    )
                    return
                delay = min(5.0, self._retry_base * 2 ** (attempt - 1))
                log.warning(retry_line(event, subscription.name, attempt, self.max_attempts, error, delay))
                await asyncio.sleep(delay)
