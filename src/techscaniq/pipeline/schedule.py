"""When a config runs next: cron (wall clock of its time zone) or interval, plus a stable jitter.

Pure functions of (schedule, config id, time); no clock, no I/O, so they are exact to test.

DST rules (as cron users expect): a wall time skipped by a spring-forward jump runs at the jump
(02:30 -> 03:00); a fixed-hour job in the repeated autumn hour runs once (the first 02:30), while
a job whose hour field is `*` keeps running through both passes of that hour.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from croniter import croniter

from techscaniq.domain.config import Schedule, ScheduleType

# Default spread of configs that share a cron minute, when the schedule sets no jitter.
DEFAULT_CRON_JITTER_SECONDS = 30.0


def jitter_offset(schedule: Schedule, config_id: str) -> timedelta:
    """A stable per-config offset in [0, window): the same config always runs at the same second."""
    if schedule.jitter_seconds is not None:
        window = schedule.jitter_seconds
    else:
        window = DEFAULT_CRON_JITTER_SECONDS if schedule.type is ScheduleType.CRON else 0.0
    if window <= 0:
        return timedelta(0)
    fraction = zlib.crc32(config_id.encode()) / 2**32
    return timedelta(seconds=round(fraction * window, 3))


def next_run_after(schedule: Schedule, config_id: str, after: datetime, anchor: datetime | None = None) -> datetime:
    """The first run strictly after `after` (UTC). Interval runs are anchored at `anchor` (the config's
    creation) so their phase never drifts, however late a scan ran."""
    offset = jitter_offset(schedule, config_id)
    if schedule.type is ScheduleType.INTERVAL:
        period = timedelta(seconds=schedule.interval_seconds)
        origin = (anchor or after) + offset
        if origin > after:
            return origin
        steps = (after - origin) // period + 1
        return origin + steps * period
    return _next_cron(schedule, after - offset) + offset


def _next_cron(schedule: Schedule, after: datetime) -> datetime:
    zone = schedule.zone
    fields = schedule.cron_fields
    fixed_hour = fields.split()[1] != "*"
    iterator = croniter(fields, after.astimezone(zone))
    for _ in range(1000):
        candidate: datetime = iterator.get_next(datetime)
        if fixed_hour and _is_repeated_wall_time(candidate):
            continue
        result = candidate.astimezone(UTC)
        if result > after:
            return result
    raise ValueError(f"cron expression {schedule.expression!r} has no run time after {after.isoformat()}")


def _is_repeated_wall_time(moment: datetime) -> bool:
    """True for the second occurrence of an ambiguous local time (the autumn repeated hour)."""
    wall = moment.replace(tzinfo=None)
    first = wall.replace(tzinfo=moment.tzinfo, fold=0)
    second = wall.replace(tzinfo=moment.tzinfo, fold=1)
    return first.utcoffset() != second.utcoffset() and moment.utcoffset() == second.utcoffset()
