"""Uptime weighted by time (domain/uptime.py): a state lasts until the next scan, the newest until now, and the
time before the first scan is not counted as up or down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from techscaniq.domain.uptime import Observation, uptime_between

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_long_outage_between_two_scans_weighs_more_than_many_short_ups() -> None:
    # Nine scans up a minute apart, then down for 51 minutes: by scans 90 % up, by time 15 %.
    observations = [Observation(at(m), up=True) for m in range(9)] + [Observation(at(9), up=False)]
    weighted = uptime_between(observations, at(0), at(60))
    assert (weighted.up_seconds, weighted.observed_seconds) == (9 * 60, 60 * 60)
    assert weighted.percent == 15.0


def test_the_scan_before_the_window_carries_into_it_and_unknown_time_is_not_counted() -> None:
    observations = [Observation(at(-30), up=False), Observation(at(10), up=True)]
    assert uptime_between(observations, at(0), at(20)).percent == 50.0  # down 0-10 (carried in), up 10-20
    later = uptime_between([Observation(at(10), up=True)], at(0), at(20))
    assert (later.observed_seconds, later.percent) == (600, 100.0)  # 0-10 unknown: neither up nor down


def test_no_observation_in_the_window_has_no_percent() -> None:
    assert uptime_between([], at(0), at(20)).percent is None
    assert uptime_between([Observation(at(30), up=True)], at(0), at(20)).percent is None
