"""The scale-out event bus: Kafka topics shared by every replica (aiokafka).

One topic per event type (`<prefix><topic>`, e.g. `techscaniq.scan.completed`), created at start with the
configured partition count when absent. Events are keyed by `Event.key` (the config id), so one config's
events land in one partition and stay in order. Each subscription is a Kafka consumer group, so replicas
that subscribe with the same group share the partitions and a dead replica's partitions move to the others.

Delivery is at least once: auto-commit is off and a partition's offset is committed only up to its first event
whose handler has not returned yet. A handler that raises is retried with capped backoff in place (its key's
later events wait, and the commit does not move past it); after `max_attempts` (about two minutes by default)
the event goes to the dead-letter topic
(`<prefix>dead-letter`, with the failing group and error in its headers) so that one poison event cannot
stall its config forever, and nothing is lost: an operator can replay it. Within a subscription, up to
`concurrency` keys run in parallel while each key's events run one at a time, in offset order. Producers are
idempotent (no duplicates from retries)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import ValidationError

from techscaniq.bus.coordinator_wait import wait_for_coordinator_quietly
from techscaniq.bus.protocol import Handler, retry_line
from techscaniq.domain.events import Event, Topic
from techscaniq.observability.metrics import EVENT_HANDLER_ERRORS, EVENTS_PUBLISHED
from techscaniq.observability.outage import Outage
from techscaniq.settings import Settings

log = logging.getLogger(__name__)

BROKER_PROBE_SECONDS = 5.0  # a broker that takes longer to give its metadata counts as away


class _Subscription(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    """One consumer-group member. The poll loop hands records to `concurrency` shard workers (by key, so a key's
    events run one at a time and in order) and pauses fetching while `capacity` records are in hand. Each
    partition's offset is committed up to its first record not yet handled, so a slow event holds back only its
    own partition's commit, and a crash redoes only unfinished work. A partition taken away in a rebalance first
    waits for its records in a handler and commits them; its queued records are left to the next owner."""

    def __init__(self, bus: KafkaEventBus, topic: Topic, group: str, handler: Handler, concurrency: int) -> None:
        self.bus = bus
        self.topic = topic
        self.group = group
        self.handler = handler
        self.concurrency = max(1, concurrency)
        self.capacity = max(500, 4 * self.concurrency)
        self.consumer: Any = None
        self.tasks: list[asyncio.Task[None]] = []
        self.queues: list[asyncio.Queue[tuple[Any, int, Any]]] = [asyncio.Queue() for _ in range(self.concurrency)]
        self.in_hand = 0  # records fetched and not yet handled (or skipped)
        self.generation: dict[Any, int] = defaultdict(int)  # bumped when a partition is taken away
        self.pending: dict[Any, dict[int, bool]] = defaultdict(dict)  # partition -> offset -> handled, in order
        self.running: dict[Any, int] = defaultdict(int)  # partition -> records in a handler now
        self.next_offsets: dict[Any, int] = {}  # partition -> first offset not yet handled (what to commit)
        self.committed: dict[Any, int] = {}
        self.end_offsets: dict[Any, int] = {}  # partition -> log end, refreshed by the bus
        self.commit_due = asyncio.Event()
        self.room = asyncio.Event()  # set when the workers have caught up enough to fetch again
        self.commit_lock = asyncio.Lock()
        self.stopping = False
        # The broker away: each loop logs once per outage and backs off (shown on /health as event_bus).
        self.poll_outage = Outage(f"kafka:{self.name}:poll", "event_bus")
        self.commit_outage = Outage(f"kafka:{self.name}:commit", "event_bus")
        self.dead_letter_outage = Outage(f"kafka:{self.name}:dead-letter", "event_bus")
        self.commit_retry_seconds = 1.0

    @property
    def name(self) -> str:
        return f"{self.topic.value}/{self.group}"

    @property
    def alive(self) -> bool:
        return bool(self.tasks) and not any(task.done() for task in self.tasks)

    def start(self, consumer: Any) -> None:
        self.consumer = consumer
        self.stopping = False
        # A restart begins from the committed offsets: forget whatever a previous run left in hand.
        self.queues = [asyncio.Queue() for _ in range(self.concurrency)]
        self.in_hand = 0
        for state in (self.generation, self.pending, self.running, self.next_offsets, self.committed):
            state.clear()
        self.tasks = [asyncio.create_task(self._poll(), name=f"kafka-bus:{self.name}:poll"),
                      asyncio.create_task(self._commit_loop(), name=f"kafka-bus:{self.name}:commit")]
        self.tasks += [asyncio.create_task(self._work(queue), name=f"kafka-bus:{self.name}:{index}")
                       for index, queue in enumerate(self.queues)]

    async def stop(self, drain_seconds: float) -> None:
        """Stop fetching, let the records in hand finish for up to `drain_seconds`, commit, leave the group."""
        self.stopping = True
        try:
            async with asyncio.timeout(drain_seconds):
                while self.in_hand:  # noqa: ASYNC110 - workers signal through counters
                    await asyncio.sleep(0.01)
        except TimeoutError:
            log.warning("event bus consumer %s stopped with %d events unfinished", self.name, self.in_hand)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        if self.consumer is not None:
            await self._commit()
            await self.consumer.stop()
            self.consumer = None

    # --- rebalance listener ---

    async def on_partitions_revoked(self, revoked: Any) -> None:
        revoked = set(revoked)
        for partition in revoked:
            self.generation[partition] += 1  # its queued records are skipped from now on
        while any(self.running[p] for p in revoked):  # noqa: ASYNC110 - workers signal through counters
            await asyncio.sleep(0.01)
        await self._commit(revoked)
        for partition in revoked:
            for state in (self.pending, self.running, self.next_offsets, self.committed, self.end_offsets):
                state.pop(partition, None)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None

    # --- loops ---

    async def _poll(self) -> None:
        consumer = self.consumer
        while not self.stopping:
            try:
                if self.in_hand >= self.capacity:
                    # Full: stop fetching but keep polling (a member that stops polling is put out of its group).
                    consumer.pause(*consumer.assignment())
                    self.room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.room.wait(), 1.0)
                    await consumer.getmany(timeout_ms=0)
                    continue
                if consumer.paused():
                    consumer.resume(*consumer.paused())
                batches = await consumer.getmany(timeout_ms=200, max_records=self.capacity - self.in_hand)
            except KafkaError as exc:
                await self.poll_outage.wait(exc)
                continue
            self.poll_outage.recovered()
            for partition, records in batches.items():
                generation = self.generation[partition]
                for record in records:
                    self.pending[partition][record.offset] = False
                    self.next_offsets.setdefault(partition, record.offset)
                    self.in_hand += 1
                    shard = zlib.crc32(record.key or b"") % self.concurrency
                    self.queues[shard].put_nowait((partition, generation, record))

    async def _work(self, queue: asyncio.Queue[tuple[Any, int, Any]]) -> None:
        while True:
            partition, generation, record = await queue.get()
            try:
                if generation != self.generation[partition]:
                    continue  # its partition was taken away: the next owner handles it
                event = _decode(record)
                self.running[partition] += 1
                try:
                    if event is not None:
                        await self._handle(event)
                finally:
                    self.running[partition] -= 1
                self._handled(partition, record.offset)
            finally:
                self.in_hand -= 1
                if self.in_hand <= self.capacity // 2:
                    self.room.set()

    def _handled(self, partition: Any, offset: int) -> None:
        pending = self.pending[partition]
        pending[offset] = True
        while pending:
            first = next(iter(pending))
            if not pending[first]:
                break
            del pending[first]
            self.next_offsets[partition] = first + 1
            self.commit_due.set()

    async def _commit_loop(self) -> None:
        """Commit as often as handlers finish, coalescing whatever finished while the last commit was in flight."""
        while True:
            await self.commit_due.wait()
            self.commit_due.clear()
            if not await self._commit():
                await asyncio.sleep(self.commit_retry_seconds)
                self.commit_due.set()

    async def _commit(self, partitions: set[Any] | None = None) -> bool:
        async with self.commit_lock:
            consumer = self.consumer
            if consumer is None:  # stopped: the final commit has been made
                return True
            assigned = consumer.assignment()
            offsets = {
                p: offset
                for p, offset in self.next_offsets.items()
                if p in assigned and (partitions is None or p in partitions) and self.committed.get(p) != offset
            }
            if not offsets:
                return True
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:
                # Not lost: handled events stay handled and the offsets are committed on the next try (or, after a
                # rebalance, the next owner redoes them; handlers are idempotent).
                self.commit_retry_seconds = self.commit_outage.failed(exc)
                return False
            self.commit_outage.recovered()
            self.committed.update(offsets)
            return True

    async def _handle(self, event: Event) -> None:
        attempts = self.bus.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                await self.handler(event)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                EVENT_HANDLER_ERRORS.labels(self.topic.value, self.group).inc()
                if attempt == attempts:
                    log.exception("event %s on %s failed %d times; moving it to the dead-letter topic", event.id,
                                  self.name, attempt)
                    await self._dead_letter(event, attempt, error)
                    return
                delay = min(self.bus.max_retry_delay, self.bus.retry_base_seconds * 2 ** (attempt - 1))
                log.warning(retry_line(event, self.name, attempt, attempts, error, delay))
                await asyncio.sleep(delay)

    async def _dead_letter(self, event: Event, attempts: int, error: BaseException) -> None:
        while True:  # the event must land somewhere before its offset is committed
            try:
                await self.bus.dead_letter(event, self.group, attempts, error)
            except KafkaError as exc:
                await self.dead_letter_outage.wait(exc)
                continue
            self.dead_letter_outage.recovered()
            return

    # --- observation ---

    async def refresh_end_offsets(self) -> None:
        if self.consumer is not None and (assigned := list(self.consumer.assignment())):
            self.end_offsets.update(await self.consumer.end_offsets(assigned))

    def lag(self) -> int:
        if self.consumer is None:
            return 0
        total = 0
        for partition in self.consumer.assignment():
            # The fetch's high-water mark goes stale while fetching is paused; the refreshed log end does not.
            end = max(self.consumer.highwater(partition) or 0, self.end_offsets.get(partition, 0))
            position = self.next_offsets.get(partition)
            if position is not None:
                total += max(0, end - position)
        return total


def _decode(record: Any) -> Event | None:
    try:
        return Event.from_bytes(record.value)
    except (ValidationError, ValueError, TypeError):
        # Hostile or foreign bytes on our topic: skip them rather than wedge the partition.
        log.error("undecodable record at %s[%d]@%d skipped", record.topic, record.partition, record.offset)
        return None


class KafkaEventBus:
    def __init__(
        self,
        settings: Settings,
        *,
        replication_factor: int = 1,
        max_attempts: int = 12,
        retry_base_seconds: float = 0.05,
        max_retry_delay: float = 30.0,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
        lag_refresh_seconds: float = 5.0,
    ) -> None:
        if not settings.kafka_servers:
            raise ValueError("KAFKA_SERVERS is not set: the Kafka event bus needs the broker addresses")
        self.servers = settings.kafka_servers
        self.topic_prefix = settings.kafka_topic_prefix
        self.partitions = settings.kafka_partitions
        self.batch_size = settings.kafka_batch_size
        self.linger_ms = settings.kafka_linger_ms
        self.client_id = f"techscaniq-{settings.instance_id}" if settings.instance_id else "techscaniq"
        self.replication_factor = replication_factor
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.max_retry_delay = max_retry_delay
        self.session_timeout_ms = session_timeout_ms
        # Members learn of a rebalance from heartbeats: frequent ones make joins and takeovers quick.
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.lag_refresh_seconds = lag_refresh_seconds
        self._lag_task: asyncio.Task[None] | None = None
        self._joining: set[asyncio.Task[None]] = set()
        self._producer: Any = None
        self._subscriptions: list[_Subscription] = []
        self._running = False
        self._publish_failed = False
        self.broker_outage = Outage("kafka:brokers", "event_bus")

    def topic_name(self, topic: Topic) -> str:
        return f"{self.topic_prefix}{topic.value}"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_prefix}dead-letter"

    async def dead_letter(self, event: Event, group: str, attempts: int, error: BaseException) -> None:
        headers = [
            ("source-topic", self.topic_name(event.topic).encode()),
            ("group", group.encode()),
            ("attempts", str(attempts).encode()),
            ("error", repr(error)[:1000].encode()),
        ]
        await self._producer.send_and_wait(self.dead_letter_topic, event.to_bytes(), key=event.key.encode(),
                                           headers=headers)

    async def start(self) -> None:
        wait_for_coordinator_quietly()
        await self.ensure_topics()
        producer = AIOKafkaProducer(
            bootstrap_servers=self.servers,
            client_id=self.client_id,
            enable_idempotence=True,  # implies acks=all: a retried send is never written twice
            max_batch_size=self.batch_size,
            linger_ms=self.linger_ms,
        )
        await producer.start()
        self._producer = producer
        self._running = True
        await asyncio.gather(*(self._start_consumer(s) for s in self._subscriptions))
        self._lag_task = asyncio.create_task(self._refresh_lag(), name="kafka-bus:lag")

    async def _refresh_lag(self) -> None:
        """Ask the brokers for the cluster's metadata, then keep each subscription's log-end offsets fresh so
        queue_depths() (sync, cheap) sees a growing backlog. A consumer polling a broker that is away only gets
        empty batches and a producer waits out its timeout: without this probe nothing would notice the outage."""
        while True:
            await asyncio.sleep(self.lag_refresh_seconds)
            try:
                async with asyncio.timeout(BROKER_PROBE_SECONDS):
                    await self._producer.client.fetch_all_metadata()
            except (KafkaError, TimeoutError) as exc:
                self.broker_outage.failed(exc)
                continue
            self.broker_outage.recovered()
            for subscription in self._subscriptions:
                try:
                    await subscription.refresh_end_offsets()
                except KafkaError:
                    log.debug("could not refresh the end offsets of %s", subscription.name, exc_info=True)

    async def ensure_topics(self) -> None:
        """Create every event topic that does not exist yet; existing topics are left as they are."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.servers, client_id=self.client_id)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [self.topic_name(t) for t in Topic] + [self.dead_letter_topic]
            missing = [
                NewTopic(name, num_partitions=self.partitions, replication_factor=self.replication_factor)
                for name in wanted
                if name not in existing
            ]
            if missing:
                try:
                    response = await admin.create_topics(missing)
                except TopicAlreadyExistsError:  # another replica won the race
                    return
                for name, code, *_ in response.topic_errors:
                    if code not in (0, TopicAlreadyExistsError.errno):
                        raise KafkaError(f"creating topic {name} failed with error code {code}")
                log.info("created Kafka topics %s", [t.name for t in missing])
        finally:
            await admin.close()

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Let the events in hand finish (up to `drain_seconds`) and commit them, leave the groups, flush."""
        self._running = False
        if self._lag_task is not None:
            self._lag_task.cancel()
            await asyncio.gather(self._lag_task, return_exceptions=True)
            self._lag_task = None
        await asyncio.gather(*(s.stop(drain_seconds) for s in self._subscriptions))
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, event: Event) -> None:
        if self._producer is None:
            raise RuntimeError("the Kafka event bus is not started")
        try:
            await self._producer.send_and_wait(self.topic_name(event.topic), event.to_bytes(), key=event.key.encode())
        except KafkaError:
            self._publish_failed = True
            raise
        self._publish_failed = False
        EVENTS_PUBLISHED.labels(event.topic.value).inc()

    def subscribe(self, topic: Topic, group: str, handler: Handler, concurrency: int = 1) -> None:
        subscription = _Subscription(self, topic, group, handler, concurrency)
        self._subscriptions.append(subscription)
        if self._running:
            # Called outside a coroutine by contract; the consumer joins its group in the background.
            task = asyncio.get_running_loop().create_task(self._start_consumer(subscription))
            self._joining.add(task)  # keep a reference until done (the loop holds tasks only weakly)
            task.add_done_callback(self._joining.discard)

    async def _start_consumer(self, subscription: _Subscription) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.servers,
            client_id=self.client_id,
            # One Kafka group per (group, topic): a stage's subscriptions rebalance independently.
            group_id=f"{self.topic_prefix}{subscription.group}.{subscription.topic.value}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new group starts with what was published before it joined
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        consumer.subscribe([self.topic_name(subscription.topic)], listener=subscription)
        await consumer.start()
        subscription.start(consumer)

    async def wait_assigned(self, limit_seconds: float = 30.0) -> None:
        """Wait until every subscription of this replica owns partitions (its group has settled)."""
        async with asyncio.timeout(limit_seconds):
            # Polled: assignment changes inside aiokafka's coordinator, which signals nothing we can await.
            while not all(s.consumer is not None and s.consumer.assignment() for s in self._subscriptions):  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    def queue_depths(self) -> dict[str, int]:
        """Consumer lag of the partitions this replica owns: log end (refreshed every `lag_refresh_seconds`)
        minus the first offset not yet handled."""
        return {s.name: s.lag() for s in self._subscriptions}

    @property
    def outages(self) -> list[Outage]:
        """Every consumer loop's outage tracker, for /health."""
        return [self.broker_outage,
                *(o for s in self._subscriptions for o in (s.poll_outage, s.commit_outage, s.dead_letter_outage))]

    @property
    def healthy(self) -> bool:
        consumers_alive = all(s.alive for s in self._subscriptions)
        return (self._running and self._producer is not None and not self._publish_failed and consumers_alive
                and not self.broker_outage.active)

