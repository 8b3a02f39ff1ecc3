"""Availability: K failures in a row, server errors, first scans, redirect targets."""

from __future__ import annotations

from tests.changes.builders import Replay, Site

from techscaniq.changes import DetectionPolicy


def test_a_new_config_whose_site_is_down_from_the_start() -> None:
    site, replay = Site(down=True), Replay()
    assert replay.step(site) == set()
    assert replay.step(site) == {("availability", "down", "site", "critical")}
    assert replay.step(site) == set()
    site.down = False
    [up] = replay.step_changes(site)
    assert (up.change_type, up.evidence["failed_scans"]) == ("up", 3)
    assert replay.step(site) == set()  # the first real page is the technology baseline, not "added"


def test_consecutive_failures_are_configurable() -> None:
    site, replay = Site(), Replay(policy=DetectionPolicy(availability_consecutive=3))
    replay.step(site)
    site.down = True
    assert [replay.step(site) for _ in range(3)] == [set(), set(), {("availability", "down", "site", "critical")}]


def test_alternating_failures_never_report_down() -> None:
    site, replay = Site(), Replay()
    steps = []
    for index in range(8):
        site.down = index % 2 == 1
        steps.append(replay.step(site))
    assert all(step == set() for step in steps)


def test_redirect_from_https_to_http_is_high() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.final_url = "http://shop.example.test/"
    assert replay.step(site) == set()
    assert replay.step(site) == {("availability", "redirect_changed", "final_url", "high")}
    site.final_url = "http://shop.example.test/#top"  # fragments and queries are not targets
    assert replay.step(site) == set()


def test_redirect_to_another_path_is_medium() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.final_url = "https://shop.example.test/en/"
    replay.step(site)
    assert replay.step(site) == {("availability", "redirect_changed", "final_url", "medium")}


def test_reprocessing_gives_the_same_changes() -> None:
    """The pure core is deterministic: the stage relies on it for idempotency across replicas."""
    site, replay = Site(), Replay()
    replay.step(site)
    site.down = True
    replay.step(site)
    scan = site.scan()
    first = replay.judge(scan)
    replay.scans.pop()
    again = replay.judge(scan)
    assert [c.dedupe_key for c in first] == [c.dedupe_key for c in again] == [f"{scan.id}:availability:down:site"]
