"""WebSocket fan-out benchmark: events per second to connected clients, delivery latency p50/p99.

    .venv/bin/python -m bench.bench_websocket [--clients 1000] [--rate 1000] [--organizations 100] [--seconds 10]

Two scenarios, each against two servers started in a child process (so the clients, in this process,
do not share a core's event loop with the server):
  - techscaniq: the RealtimeHub (bus subscription, tenant filter, compact scan summary built once per
    event, bounded per-client queue, uvicorn) receiving `scan.completed` events with a full scan;
  - reference: a bare `websockets` server that sends a pre-built message of the same size to the same
    clients with `websockets.broadcast` (no auth, no validation, no queues) — the floor on this machine.
Scenario "tenants": --clients spread over --organizations, --rate events/s spread over those
organizations (each event reaches clients/organizations clients). Scenario "broadcast": every client in
one organization, --broadcast-rate events/s (each event reaches every client).
Latency = receive time minus the event's occurred_at (same host clock)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import websockets

from techscaniq.domain.events import Event, Topic
from techscaniq.domain.performance import PerformanceReport
from techscaniq.domain.scan import ResponseSnapshot, ScanResult
from techscaniq.domain.security import SecurityFinding, SecurityReport
from techscaniq.domain.technology import Detection, Evidence


def raise_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def sample_scan(config_id: str, organization_id: str) -> dict[str, Any]:
    """A realistic full scan document (what the worker publishes in scan.completed)."""
    technologies = [Detection(name=f"Tech {i}", version=f"{i}.0", categories=["JavaScript libraries"],
                              evidence=[Evidence(source="scriptSrc", pattern=f"tech{i}-([\\d.]+)\\.js",
                                                 matched=f"/js/tech{i}-{i}.0.js")]) for i in range(15)]
    scan = ScanResult(config_id=config_id, organization_id=organization_id, url="https://example.test/",
                      response=ResponseSnapshot(status_code=200, headers=[("server", "nginx")] * 20),
                      technologies=technologies,
                      performance=PerformanceReport(metrics={"ttfb_ms": 120.0, "load_time_ms": 340.0}),
                      security=SecurityReport(score=70, grade="B", findings=[
                          SecurityFinding(test=f"test-{i}", result="ok", description="x" * 80) for i in range(12)]))
    return scan.model_dump(mode="json")


async def publish_loop(rate: float, seconds: float, organizations: int, send: Any) -> int:
    """Calls `await send(org_index)` `rate` times a second (in 10 ms ticks) for `seconds`."""
    sent, started = 0, time.perf_counter()
    tick = 0.01
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            await send(sent % organizations)
            sent += 1
        await asyncio.sleep(max(0.0, tick - (time.perf_counter() - started - elapsed)))
    return sent


# ---- servers (child process) -------------------------------------------------------------------


async def serve_hub(rate: float, seconds: float, organizations: int) -> dict[str, Any]:
    import socket

    import uvicorn

    from techscaniq.bus.memory import InMemoryEventBus
    from techscaniq.realtime.hub import Credential, RealtimeHub

    async def authenticate(token: str | None) -> Credential | None:
        return Credential(token) if token and token.startswith("org-") else None

    bus = InMemoryEventBus(queue_size=100_000)
    hub = RealtimeHub(authenticate, queue_size=1000)
    hub.subscribe(bus, "realtime-bench")
    await bus.start()
    sock = socket.create_server(("127.0.0.1", 0), backlog=4096)
    server = uvicorn.Server(uvicorn.Config(hub.app, log_config=None, access_log=False, lifespan="off",
                                           ws_ping_interval=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    scans = [sample_scan(f"cfg-{i}", f"org-{i}") for i in range(organizations)]

    async def send(index: int) -> None:
        payload = {"scan_id": "s", "config_id": f"cfg-{index}", "scan": scans[index]}
        await bus.publish(Event(topic=Topic.SCAN_COMPLETED, key=f"cfg-{index}", organization_id=f"org-{index}",
                                occurred_at=datetime.now(UTC), payload=payload))

    result = await _run_server(sock.getsockname()[1], rate, seconds, organizations, send, bus.join)
    result.update(hub.stats())
    server.should_exit = True
    await bus.stop(drain_seconds=1)
    await task
    return result


async def serve_reference(rate: float, seconds: float, organizations: int) -> dict[str, Any]:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    members: dict[str, set[ServerConnection]] = {}
    # The same bytes the hub sends (its compact summary), built here without pydantic or queues.
    from techscaniq.realtime.messages import live_message

    async def handler(connection: ServerConnection) -> None:
        org = (connection.request.path.split("token=")[-1]) if connection.request else ""
        members.setdefault(org, set()).add(connection)
        try:
            await connection.send(json.dumps({"type": "welcome"}))
            await connection.wait_closed()
        finally:
            members[org].discard(connection)

    templates = []
    for i in range(organizations):
        event = Event(topic=Topic.SCAN_COMPLETED, key=f"cfg-{i}", organization_id=f"org-{i}",
                      payload={"scan_id": "s", "config_id": f"cfg-{i}", "scan": sample_scan(f"cfg-{i}", f"org-{i}")})
        templates.append(live_message(event))

    async def send(index: int) -> None:
        message = {**templates[index], "occurred_at": datetime.now(UTC).isoformat()}
        broadcast(members.get(f"org-{index}", set()), json.dumps(message, separators=(",", ":")))

    async with serve(handler, "127.0.0.1", 0, backlog=4096, ping_interval=None, max_queue=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        return await _run_server(port, rate, seconds, organizations, send, None)


async def _run_server(port: int, rate: float, seconds: float, organizations: int, send: Any,
                      drain: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"port": port}), flush=True)
    await reader.readline()  # "go": every client is connected
    cpu_before = time.process_time()
    started = time.perf_counter()
    published = await publish_loop(rate, seconds, organizations, send)
    publish_seconds = time.perf_counter() - started
    if drain is not None:
        await drain()
    cpu = time.process_time() - cpu_before
    await asyncio.sleep(0.5)
    result = {"published": published, "publish_seconds": round(publish_seconds, 2), "server_cpu_seconds": round(cpu, 2)}
    print(json.dumps(result), flush=True)
    await reader.readline()  # "quit": the clients have their numbers
    return result


# ---- clients (this process) ----------------------------------------------------------------------


async def run_scenario(kind: str, clients: int, rate: float, organizations: int, seconds: float) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_websocket", "--serve", kind, "--rate", str(rate), "--seconds",
        str(seconds), "--organizations", str(organizations),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    port = json.loads(await child.stdout.readline())["port"]
    latencies: list[float] = []
    received = 0

    async def client(index: int) -> None:
        nonlocal received
        org = f"org-{index % organizations}"
        async with websockets.connect(f"ws://127.0.0.1:{port}/?token={org}", ping_interval=None,
                                      max_size=None, open_timeout=60) as ws:
            ready.append(1)
            async for text in ws:
                at = time.time()
                start = text.find('"occurred_at":"')
                if start >= 0:
                    stamp = text[start + 15:text.index('"', start + 15)]
                    latencies.append((at - datetime.fromisoformat(stamp).timestamp()) * 1000)
                    received += 1

    ready: list[int] = []
    tasks = []
    for index in range(clients):
        tasks.append(asyncio.create_task(client(index)))
        if index % 100 == 99:
            await asyncio.sleep(0.05)  # do not overflow the accept backlog
    while len(ready) < clients:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    child.stdin.write(b"go\n")
    server_numbers = json.loads(await child.stdout.readline())
    await asyncio.sleep(1.0)  # the last messages in flight
    child.stdin.write(b"quit\n")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await child.wait()
    expected = server_numbers["published"] * clients // organizations
    ordered = sorted(latencies) or [float("nan")]
    return {
        "server": kind, "clients": clients, "organizations": organizations, "events": server_numbers["published"],
        "events_per_second": round(server_numbers["published"] / server_numbers["publish_seconds"]),
        "delivered": received, "expected": expected,
        "deliveries_per_second": round(received / seconds),
        "p50_ms": round(statistics.median(ordered), 1), "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1), "server_cpu_seconds": server_numbers["server_cpu_seconds"],
        "dropped": server_numbers.get("messages_dropped", 0),
        "slow_disconnects": server_numbers.get("slow_consumer_disconnects", 0),
    }


async def main(args: argparse.Namespace) -> None:
    raise_file_limit()
    scenarios = [("tenants", args.rate, args.organizations), ("broadcast", args.broadcast_rate, 1)]
    rows = []
    for name, rate, organizations in scenarios:
        for kind in ("techscaniq", "reference"):
            row = await run_scenario(kind, args.clients, rate, organizations, args.seconds)
            rows.append({"scenario": name, **row})
            print(json.dumps(rows[-1]), flush=True)
    print()
    print("| scenario | server | clients | events/s | deliveries/s | delivered | p50 ms | p99 ms | max ms "
          "| server CPU s | dropped |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['server']} | {r['clients']} ({r['organizations']} orgs) "
              f"| {r['events_per_second']} | {r['deliveries_per_second']} | {r['delivered']}/{r['expected']} "
              f"| {r['p50_ms']} | {r['p99_ms']} | "
              f"{r['max_ms']} | {r['server_cpu_seconds']} | {r['dropped']} ({r['slow_disconnects']} disconnects) |")
    for scenario in ("tenants", "broadcast"):
        ours, ref = [r for r in rows if r["scenario"] == scenario]
        print(f"{scenario}: p99 ratio techscaniq/reference = {ours['p99_ms'] / max(ref['p99_ms'], 0.1):.2f}, "
              f"server CPU ratio = {ours['server_cpu_seconds'] / max(ref['server_cpu_seconds'], 0.01):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second, tenants scenario")
    parser.add_argument("--broadcast-rate", type=float, default=20.0, help="events per second to every client")
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", choices=["techscaniq", "reference"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        raise_file_limit()
        serve = serve_hub if arguments.serve == "techscaniq" else serve_reference
        asyncio.run(serve(arguments.rate, arguments.seconds, arguments.organizations))
        os._exit(0)
    asyncio.run(main(arguments))
