"""The Outage tracker every background loop shares: backoff shape, one log line per outage, cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

from techscaniq.observability.outage import Outage, periodically


def test_backoff_doubles_from_half_a_second_to_thirty_with_jitter_in_the_upper_half() -> None:
    no_jitter = Outage("t-backoff", "scheduler", jitter=lambda: 1.0)
    delays = [no_jitter.failed(ConnectionError()) for _ in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays[-1] == 30.0 and max(delays) == 30.0
    low = Outage("t-jitter", "scheduler", jitter=lambda: 0.0)
    assert low.failed(ConnectionError()) == 0.25  # half of 0.5: loops failing together spread out


def test_one_line_per_outage_and_per_recovery_without_the_error_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="techscaniq.outage")
    outage = Outage("t-lines", "scheduler")
    for _ in range(200):
        try:
            raise OSError("connect to postgresql://user:hunter2@db:5432 failed")
        except OSError as exc:
            outage.failed(exc)
    assert outage.active and outage.error_kind == "OSError" and outage.since is not None
    outage.recovered()
    outage.recovered()
    lines = [r.getMessage() for r in caplog.records if r.name == "techscaniq.outage"]
    assert len(lines) == 2, lines
    assert "backend unavailable (OSError)" in lines[0] and "available again" in lines[1]
    assert "hunter2" not in caplog.text and "postgresql://" not in caplog.text
    assert not outage.active and outage.failures == 0


async def test_periodically_survives_failures_recovers_and_stops_on_cancel() -> None:
    outage = Outage("t-periodic", "fingerprints", initial_seconds=0.01, max_seconds=0.02)
    calls: list[bool] = []

    async def action() -> None:
        calls.append(True)
        if len(calls) <= 5:
            raise ConnectionRefusedError  # the backend away for five rounds
    task = asyncio.create_task(periodically(outage, 0.02, action))
    async with asyncio.timeout(10):
        while len(calls) < 8:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert not outage.active  # recovered by itself
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
