"""Run times of cron and interval schedules, across DST changes, as a cron user expects them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from techscaniq.domain.config import Schedule
from techscaniq.pipeline.schedule import jitter_offset, next_run_after


def runs(
    schedule: Schedule, start: datetime, count: int, config_id: str = "c", anchor: datetime | None = None
) -> list[str]:
    out, moment = [], start
    for _ in range(count):
        moment = next_run_after(schedule, config_id, moment)
        out.append(moment.astimezone(schedule.zone).isoformat())
    return out


def cron(expression: str, timezone: str) -> Schedule:
    return Schedule(type="cron", expression=expression, timezone=timezone, jitter_seconds=0)


def test_daily_cron_in_new_york_keeps_local_time_across_spring_forward() -> None:
    # 2026-03-08: clocks jump 02:00 -> 03:00 in America/New_York.
    daily = cron("30 9 * * *", "America/New_York")
    assert runs(daily, datetime(2026, 3, 7, 0, 0, tzinfo=UTC), 3) == [
        "2026-03-07T09:30:00-05:00",
        "2026-03-08T09:30:00-04:00",
        "2026-03-09T09:30:00-04:00",
    ]


def test_wall_time_skipped_by_spring_forward_runs_at_the_jump_once() -> None:
    # Europe/Berlin 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist that day.
    daily = cron("30 2 * * *", "Europe/Berlin")
    assert runs(daily, datetime(2026, 3, 28, 12, tzinfo=UTC), 3) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_fixed_time_in_the_repeated_autumn_hour_runs_once() -> None:
    # Europe/Berlin 2026-10-25: 03:00 CEST -> 02:00 CET; 02:30 happens twice.
    daily = cron("30 2 * * *", "Europe/Berlin")
    assert runs(daily, datetime(2026, 10, 24, 12, tzinfo=UTC), 2) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_every_half_hour_keeps_running_through_the_repeated_hour() -> None:
    half_hourly = cron("*/30 * * * *", "Europe/Berlin")
    got = runs(half_hourly, datetime(2026, 10, 24, 23, 59, tzinfo=UTC), 6)
    assert got == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]
    # Real time between runs is always 30 minutes: no gap, no double run.
    moments = [datetime.fromisoformat(value) for value in got]
    assert {b - a for a, b in itertools.pairwise(moments)} == {timedelta(minutes=30)}


def test_interval_runs_stay_on_their_phase_and_skip_missed_slots() -> None:
    every_five = Schedule(type="interval", expression="5m")
    anchor = datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)
    # Down for 23 minutes: the next run is the next slot of the original phase, once.
    assert next_run_after(every_five, "c", anchor + timedelta(minutes=23), anchor=anchor) == anchor + timedelta(
        minutes=25
    )
    assert next_run_after(every_five, "c", anchor + timedelta(minutes=25), anchor=anchor) == anchor + timedelta(
        minutes=30
    )


def test_jitter_spreads_configs_sharing_a_cron_minute_and_is_stable() -> None:
    hourly = Schedule(type="cron", expression="0 * * * *")
    offsets = {jitter_offset(hourly, f"config-{i}") for i in range(200)}
    assert len(offsets) > 150
    assert all(timedelta(0) <= offset < timedelta(seconds=30) for offset in offsets)
    assert jitter_offset(hourly, "config-1") == jitter_offset(hourly, "config-1")
    start = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    run = next_run_after(hourly, "config-1", start)
    assert run == datetime(2026, 1, 1, 1, 0, tzinfo=UTC) + jitter_offset(hourly, "config-1")
