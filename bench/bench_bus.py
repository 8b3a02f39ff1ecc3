"""Event bus benchmark: the in-process bus and the Kafka bus, next to bare aiokafka in the same run.

    eval "$(bash scripts/services.sh start --env)"   # for the Kafka rows
    .venv/bin/python -m bench.bench_bus [--events 20000] [--latency-events 300]

Throughput: events published (concurrently) then handled by a no-op handler (concurrency 4), events/s from
the first publish to the last handled. Reference: bare aiokafka, a producer (same batching) and one consumer
with auto-commit and no per-event work, so the ratio is the cost of the bus's keyed shards, commit-after-handle
and idempotent producer. Latency: one event at a time, publish to handler entry, p50/p99. Slow handlers: 50 ms
each at concurrency 20, against the ideal events x 50 ms / 20. Without KAFKA_SERVERS the Kafka rows are skipped."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from techscaniq.bus.kafka import KafkaEventBus
from techscaniq.bus.memory import InMemoryEventBus
from techscaniq.bus.protocol import EventBus
from techscaniq.domain.events import Event, Topic
from techscaniq.settings import Settings

BusMaker = Callable[[], EventBus]


def kafka_settings(servers: str) -> Settings:
    return Settings(_env_file=None, kafka_servers=servers, kafka_topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.")  # type: ignore[call-arg]


def events(count: int, keys: int = 500) -> list[Event]:
    return [
        Event(topic=Topic.SCAN_COMPLETED, key=f"cfg-{i % keys}", organization_id="org", payload={"n": i})
        for i in range(count)
    ]


async def throughput(make: BusMaker, count: int, work_seconds: float = 0.0, concurrency: int = 4) -> float:
    bus = make()
    done = asyncio.Event()
    handled = 0

    async def handle(_: Event) -> None:
        nonlocal handled
        if work_seconds:
            await asyncio.sleep(work_seconds)
        handled += 1
        if handled == count:
            done.set()

    bus.subscribe(Topic.SCAN_COMPLETED, "bench", handle, concurrency=concurrency)
    await bus.start()
    if isinstance(bus, KafkaEventBus):
        await bus.wait_assigned()
    batch = events(count)
    started = time.perf_counter()
    for index in range(0, count, 1000):  # bounded fan-out of concurrent publishes
        await asyncio.gather(*(bus.publish(e) for e in batch[index : index + 1000]))
    await asyncio.wait_for(done.wait(), 300)
    elapsed = time.perf_counter() - started
    await bus.stop()
    return count / elapsed


async def latency(make: BusMaker, count: int) -> tuple[float, float]:
    bus = make()
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def handle(_: Event) -> None:
        arrived.put_nowait(time.perf_counter())

    bus.subscribe(Topic.SCAN_COMPLETED, "bench", handle)
    await bus.start()
    if isinstance(bus, KafkaEventBus):
        await bus.wait_assigned()
    samples = []
    for e in events(count):
        sent = time.perf_counter()
        await bus.publish(e)
        samples.append((await asyncio.wait_for(arrived.get(), 30)) - sent)
    await bus.stop()
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(0.99 * (len(samples) - 1))] * 1000


async def bare_aiokafka(servers: str, count: int, settings: Settings) -> float:
    """Producer plus one auto-committing consumer: the ceiling of aiokafka itself on this machine."""
    topic = f"bench-bare-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(
        bootstrap_servers=servers, max_batch_size=settings.kafka_batch_size, linger_ms=settings.kafka_linger_ms
    )
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, group_id=topic, auto_offset_reset="earliest", enable_auto_commit=True
    )
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")  # creates the topic (auto-create, 6 partitions)
    await consumer.start()
    batch = events(count)
    started = time.perf_counter()
    received = -1  # the warm-up record
    for index in range(0, count, 1000):
        await asyncio.gather(
            *(producer.send_and_wait(topic, e.to_bytes(), key=e.key.encode()) for e in batch[index : index + 1000])
        )
    while received < count:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            received += len(records)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await producer.stop()
    return count / elapsed


async def main(count: int, latency_count: int, slow_count: int) -> None:
    servers = os.environ.get("KAFKA_SERVERS")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    memory: BusMaker = lambda: InMemoryEventBus()  # noqa: E731
    print(f"in-process bus: {await throughput(memory, count):,.0f} events/s")
    p50, p99 = await latency(memory, latency_count)
    print(f"in-process bus latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"in-process bus, 50 ms handlers x20: {await throughput(memory, slow_count, 0.05, 20):,.0f} events/s "
          f"(ideal {20 / 0.05:,.0f})")
    if not servers:
        print("KAFKA_SERVERS is not set: Kafka rows skipped")
        return
    settings = kafka_settings(servers)
    kafka: BusMaker = lambda: KafkaEventBus(kafka_settings(servers), heartbeat_interval_ms=300)  # noqa: E731
    bare = await bare_aiokafka(servers, count, settings)
    ours = await throughput(kafka, count)
    print(f"Kafka bus: {ours:,.0f} events/s; bare aiokafka: {bare:,.0f} events/s; ratio {ours / bare:.2f}")
    p50, p99 = await latency(kafka, latency_count)
    print(f"Kafka bus latency (linger {settings.kafka_linger_ms} ms): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"Kafka bus, 50 ms handlers x20: {await throughput(kafka, slow_count, 0.05, 20):,.0f} events/s "
          f"(ideal {20 / 0.05:,.0f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--slow-events", type=int, default=1_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.latency_events, arguments.slow_events))
