"""The EventBus contract, run against every implementation: the in-process bus always, Kafka whenever
KAFKA_SERVERS is set (scripts/services.sh sets it for `make test`; in CI its absence is a failure, not a skip).
Each Kafka test uses fresh topics and groups (a unique topic prefix), on the real local broker."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from tests.support.services import service_url

from techscaniq.bus.kafka import KafkaEventBus
from techscaniq.bus.memory import InMemoryEventBus
from techscaniq.bus.protocol import EventBus
from techscaniq.domain.events import Event, Topic
from techscaniq.settings import Settings

BusFactory = Callable[[], EventBus]


def _kafka_servers() -> str:
    return service_url("KAFKA_SERVERS")


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.services)])
async def new_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Makes buses of one implementation; several buses from one factory are replicas of one deployment.
    The in-process bus has no replicas (an embedded deployment is one process): it always gives the same bus."""
    created: list[EventBus] = []
    prefix = f"test-{uuid.uuid4().hex[:12]}."
    servers = _kafka_servers() if request.param == "kafka" else ""

    def factory() -> EventBus:
        bus: EventBus
        if request.param == "memory":
            if created:
                return created[0]
            bus = InMemoryEventBus(retry_base_seconds=0.01)
        else:
            settings = Settings(_env_file=None, kafka_servers=servers, kafka_topic_prefix=prefix)  # type: ignore[call-arg]
            bus = KafkaEventBus(
                settings,
                retry_base_seconds=0.01,
                session_timeout_ms=6000,  # the broker's minimum
                heartbeat_interval_ms=300,
                lag_refresh_seconds=0.2,
            )
        created.append(bus)
        return bus

    yield factory
    await asyncio.gather(*(bus.stop() for bus in {id(b): b for b in created}.values()))


async def started(*buses: EventBus) -> None:
    """Start the buses and, for Kafka, wait until every consumer owns partitions (the groups have settled)."""
    buses = tuple({id(bus): bus for bus in buses}.values())
    for bus in buses:
        await bus.start()
    for bus in buses:
        if isinstance(bus, KafkaEventBus):
            await bus.wait_assigned()


async def eventually(condition: Callable[[], bool], limit_seconds: float = 20.0) -> None:
    async with asyncio.timeout(limit_seconds):
        while not condition():  # noqa: ASYNC110 - handlers signal nothing; poll what they recorded
            await asyncio.sleep(0.01)


def event(key: str = "cfg-1", topic: Topic = Topic.SCAN_COMPLETED, **payload: Any) -> Event:
    return Event(topic=topic, key=key, organization_id="org-1", payload=payload)


def recorder(into: list[Event]) -> Callable[[Event], Awaitable[None]]:
    async def handle(e: Event) -> None:
        into.append(e)

    return handle


async def test_subscribers_receive_the_events_of_their_topic_intact(new_bus: BusFactory) -> None:
    bus = new_bus()
    completed: list[Event] = []
    changes: list[Event] = []
    bus.subscribe(Topic.SCAN_COMPLETED, "changes", recorder(completed))
    bus.subscribe(Topic.CHANGE_DETECTED, "alerts", recorder(changes))
    await started(bus)

    sent = [event(key=f"cfg-{i % 3}", n=i, url="https://example.test/ü") for i in range(9)]
    change = event(topic=Topic.CHANGE_DETECTED, kind="technology_added")
    for e in [*sent, change]:
        await bus.publish(e)

    await eventually(lambda: len(completed) == 9 and len(changes) == 1)
    assert sorted(completed, key=lambda e: e.payload["n"]) == sent  # ids, keys, payloads, timestamps all equal
    assert changes == [change]


async def test_every_group_gets_every_event_and_members_of_a_group_share_them(new_bus: BusFactory) -> None:
    replica_a, replica_b = new_bus(), new_bus()
    handled_by: dict[str, list[Event]] = defaultdict(list)
    members = [("a", replica_a)] if replica_a is replica_b else [("a", replica_a), ("b", replica_b)]
    for name, bus in members:
        bus.subscribe(Topic.SCAN_REQUESTED, "scanners", recorder(handled_by[f"scanners@{name}"]))
    replica_a.subscribe(Topic.SCAN_REQUESTED, "audit", recorder(handled_by["audit"]))
    await started(replica_a, replica_b)

    sent = [event(key=f"cfg-{i}", topic=Topic.SCAN_REQUESTED) for i in range(60)]
    for e in sent:
        await replica_a.publish(e)

    scanners = lambda: handled_by["scanners@a"] + handled_by["scanners@b"]  # noqa: E731
    await eventually(lambda: len(scanners()) >= len(sent) and len(handled_by["audit"]) >= len(sent))
    await asyncio.sleep(0.3)  # a duplicate, if any, would arrive now
    assert sorted(e.id for e in handled_by["audit"]) == sorted(e.id for e in sent)
    assert sorted(e.id for e in scanners()) == sorted(e.id for e in sent)  # each once across the group
    if replica_a is not replica_b:
        # Separate replicas share the group's partitions: both did part of the work.
        assert handled_by["scanners@a"] and handled_by["scanners@b"]


async def test_one_keys_events_keep_their_order_and_never_overlap(new_bus: BusFactory) -> None:
    bus = new_bus()
    seen: dict[str, list[int]] = defaultdict(list)
    in_flight: set[str] = set()
    overlaps: list[str] = []

    async def handle(e: Event) -> None:
        if e.key in in_flight:
            overlaps.append(e.key)
        in_flight.add(e.key)
        await asyncio.sleep(0.001 * (e.payload["seq"] % 3))  # uneven work invites reordering
        seen[e.key].append(e.payload["seq"])
        in_flight.discard(e.key)

    bus.subscribe(Topic.SCAN_COMPLETED, "changes", handle, concurrency=4)
    await started(bus)
    keys = [f"cfg-{k}" for k in range(8)]
    for seq in range(25):
        for key in keys:
            await bus.publish(event(key=key, seq=seq))

    await eventually(lambda: sum(map(len, seen.values())) == 25 * len(keys))
    assert overlaps == []
    assert all(seen[key] == list(range(25)) for key in keys), dict(seen)


async def test_a_failing_handler_is_retried_in_place_until_it_succeeds(new_bus: BusFactory,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="techscaniq.bus")
    bus = new_bus()
    attempts: dict[int, int] = defaultdict(int)
    done: list[int] = []

    async def handle(e: Event) -> None:
        n = e.payload["n"]
        attempts[n] += 1
        if n == 2 and attempts[n] <= 2:
            raise ConnectionError("database briefly away")
        done.append(n)

    bus.subscribe(Topic.CHANGE_DETECTED, "alerts", handle)
    await started(bus)
    for n in range(5):
        await bus.publish(event(topic=Topic.CHANGE_DETECTED, n=n))

    await eventually(lambda: len(done) == 5)
    assert done == [0, 1, 2, 3, 4]  # not skipped, and the events behind it waited for it
    assert attempts[2] == 3
    # One line per failed attempt: which of how many, the error and the next try; no traceback until the last.
    assert isinstance(bus, InMemoryEventBus | KafkaEventBus)
    retries = [record for record in caplog.records if "failed (attempt" in record.getMessage()]
    assert [re.sub(r"event \w+ on \S+ ", "", record.getMessage()) for record in retries] == [
        f"failed (attempt {n} of {bus.max_attempts}): ConnectionError: database briefly away; retrying in "
        f"{0.01 * 2 ** (n - 1):.2f} s" for n in (1, 2)]
    assert all(record.exc_info is None for record in retries)


async def test_redelivered_events_carry_their_id_so_handlers_apply_them_once(new_bus: BusFactory) -> None:
    bus = new_bus()
    deliveries: list[str] = []
    applied: dict[str, int] = {}

    async def handle(e: Event) -> None:
        deliveries.append(e.id)
        if e.id not in applied:  # the idempotence every handler practises
            applied[e.id] = e.payload["amount"]

    bus.subscribe(Topic.ALERT_TRIGGERED, "notifications", handle)
    await started(bus)
    alert = event(topic=Topic.ALERT_TRIGGERED, amount=1)
    await bus.publish(alert)
    await bus.publish(alert.model_copy())  # e.g. a producer retry after a crash: same event, same id
    await bus.publish(event(topic=Topic.ALERT_TRIGGERED, amount=1))

    await eventually(lambda: len(deliveries) == 3)
    assert deliveries.count(alert.id) == 2
    assert sum(applied.values()) == 2


async def test_queue_depths_show_the_backlog_of_each_subscription(new_bus: BusFactory) -> None:
    bus = new_bus()
    release = asyncio.Event()
    handled: list[Event] = []

    async def slow(e: Event) -> None:
        await release.wait()
        handled.append(e)

    bus.subscribe(Topic.SCAN_COMPLETED, "changes", slow)
    bus.subscribe(Topic.CHANGE_DETECTED, "alerts", recorder([]))
    await started(bus)
    assert bus.healthy
    for _ in range(10):
        await bus.publish(event())

    await eventually(lambda: bus.queue_depths()["scan.completed/changes"] >= 9)
    assert bus.queue_depths()["change.detected/alerts"] == 0
    release.set()
    await eventually(lambda: len(handled) == 10 and bus.queue_depths()["scan.completed/changes"] == 0)
    await bus.stop()
    assert not bus.healthy


@pytest.mark.services
async def test_kafka_an_event_stuck_in_a_hung_member_goes_to_a_survivor() -> None:
    """A member hung in a handler never commits the event; when another replica joins, the group evicts the hung
    member after its session timeout and the survivor handles the event (about 6 s: the broker's minimum)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_servers=_kafka_servers(), kafka_topic_prefix=f"test-{uuid.uuid4().hex[:12]}."
    )
    doomed = KafkaEventBus(settings, session_timeout_ms=6000, heartbeat_interval_ms=300)
    survivor = KafkaEventBus(settings, session_timeout_ms=6000, heartbeat_interval_ms=300)
    stuck = asyncio.Event()
    survived: list[Event] = []

    async def hang(e: Event) -> None:
        stuck.set()
        await asyncio.Event().wait()  # the replica dies while handling

    doomed.subscribe(Topic.SCAN_REQUESTED, "scanners", hang)
    await started(doomed)
    try:
        sent = event(topic=Topic.SCAN_REQUESTED)
        await doomed.publish(sent)
        await asyncio.wait_for(stuck.wait(), 20)
        survivor.subscribe(Topic.SCAN_REQUESTED, "scanners", recorder(survived))
        await survivor.start()
        await doomed.stop(drain_seconds=0.1)  # gives up the handler: nothing is committed
        await eventually(lambda: len(survived) == 1)
        assert survived[0].id == sent.id
    finally:
        await doomed.stop()
        await survivor.stop()


@pytest.mark.services
async def test_kafka_an_event_that_keeps_failing_goes_to_the_dead_letter_topic_and_the_rest_flow() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_servers=_kafka_servers(), kafka_topic_prefix=f"test-{uuid.uuid4().hex[:12]}."
    )
    bus = KafkaEventBus(settings, max_attempts=3, retry_base_seconds=0.01, heartbeat_interval_ms=300)
    handled: list[int] = []

    async def handle(e: Event) -> None:
        if e.payload["n"] == 1:
            raise ValueError("poison")
        handled.append(e.payload["n"])

    bus.subscribe(Topic.CHANGE_DETECTED, "alerts", handle)
    await started(bus)
    dead = AIOKafkaConsumer(
        bus.dead_letter_topic, bootstrap_servers=settings.kafka_servers, auto_offset_reset="earliest"
    )
    await dead.start()
    try:
        sent = [event(topic=Topic.CHANGE_DETECTED, n=n) for n in range(3)]
        for e in sent:
            await bus.publish(e)
        record = await asyncio.wait_for(dead.getone(), 20)
        await eventually(lambda: handled == [0, 2])
        assert Event.from_bytes(record.value).id == sent[1].id
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["group"] == "alerts" and headers["attempts"] == "3" and "poison" in headers["error"]
    finally:
        await dead.stop()
        await bus.stop()


@pytest.mark.services
async def test_kafka_replicas_joining_and_leaving_mid_stream_lose_nothing_and_keep_each_keys_order() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_servers=_kafka_servers(), kafka_topic_prefix=f"test-{uuid.uuid4().hex[:12]}."
    )
    handled: list[tuple[str, int, str]] = []

    def replica(name: str) -> KafkaEventBus:
        bus = KafkaEventBus(settings, heartbeat_interval_ms=300)

        async def handle(e: Event) -> None:
            await asyncio.sleep(0.002)
            handled.append((e.key, e.payload["seq"], name))

        bus.subscribe(Topic.SCAN_COMPLETED, "changes", handle, concurrency=4)
        return bus

    first, leaving, joining = replica("first"), replica("leaving"), replica("joining")
    publisher = KafkaEventBus(settings)
    await started(first, leaving, publisher)
    keys, per_key = 20, 30

    async def publish() -> None:
        for seq in range(per_key):  # one round per sequence number; a key's events are sent one after another
            await asyncio.gather(*(publisher.publish(event(key=f"cfg-{k}", seq=seq)) for k in range(keys)))
            await asyncio.sleep(0.04)

    try:
        publishing = asyncio.create_task(publish())
        await asyncio.sleep(0.5)
        await joining.start()
        await asyncio.sleep(0.5)
        await leaving.stop()
        await publishing
        await eventually(lambda: len({(k, s) for k, s, _ in handled}) == keys * per_key, 60)
        first_seen: dict[str, list[int]] = defaultdict(list)
        for key, seq, _ in handled:
            if seq not in first_seen[key]:
                first_seen[key].append(seq)
        assert all(seqs == list(range(per_key)) for seqs in first_seen.values())
        assert {name for *_, name in handled} == {"first", "leaving", "joining"}
    finally:
        await asyncio.gather(first.stop(), leaving.stop(), joining.stop(), publisher.stop())


async def test_stop_lets_the_event_in_a_handler_finish(new_bus: BusFactory) -> None:
    bus = new_bus()
    began = asyncio.Event()
    finished: list[Event] = []

    async def slow(e: Event) -> None:
        began.set()
        await asyncio.sleep(0.3)
        finished.append(e)

    bus.subscribe(Topic.ALERT_TRIGGERED, "notifications", slow)
    await started(bus)
    sent = event(topic=Topic.ALERT_TRIGGERED)
    await bus.publish(sent)
    await asyncio.wait_for(began.wait(), 20)
    await bus.stop()
    assert finished == [sent]
