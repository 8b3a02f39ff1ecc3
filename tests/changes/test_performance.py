"""Performance: baselines, thresholds, noise floors, improvements and a new normal."""

from __future__ import annotations

from collections.abc import Sequence

from tests.changes.builders import Replay, Site, make_config

from techscaniq.changes import DetectionPolicy


def run(replay: Replay, site: Site, metric: str, values: Sequence[float]) -> list[set[tuple[str, str, str, str]]]:
    steps = []
    for value in values:
        site.metrics[metric] = value
        steps.append(replay.step(site))
    return steps


def test_tiny_absolute_changes_are_noise_even_when_relatively_large() -> None:
    site, replay = Site(metrics={"ttfb_ms": 2.0, "load_time_ms": 5.0}), Replay()
    steps = run(replay, site, "ttfb_ms", [2, 2, 2, 6, 7, 6, 8, 2])  # +200% but 4-6 ms: a loopback jitter
    assert all(step == set() for step in steps)


def test_a_lasting_improvement_is_reported_once() -> None:
    site, replay = Site(), Replay()
    steps = run(replay, site, "load_time_ms", [1000, 1000, 1000, 600, 600, 600, 600, 600, 600])
    assert steps[4] == {("performance", "improved", "load_time_ms", "low")}
    assert [i for i, step in enumerate(steps) if step] == [4]


def test_a_lasting_regression_becomes_the_new_normal_without_a_false_recovery() -> None:
    policy = DetectionPolicy(rebaseline_scans=4)
    site, replay = Site(), Replay(policy=policy)
    steps = run(replay, site, "load_time_ms", [1000, 1000, 1000] + [1500] * 8 + [1000, 1000])
    assert steps[4] == {("performance", "regressed", "load_time_ms", "high")}
    # After 4 slow scans 1500 ms is the baseline; returning to 1000 ms is then an improvement.
    assert steps[12] == {("performance", "improved", "load_time_ms", "low")}
    assert [i for i, step in enumerate(steps) if step] == [4, 12]


def test_policy_default_thresholds_cover_metrics_the_config_does_not_name() -> None:
    policy = DetectionPolicy(default_thresholds={"size": 30})  # aliases work here too
    site, replay = Site(), Replay(policy=policy)
    steps = run(replay, site, "transfer_bytes", [50_000, 50_000, 50_000, 90_000, 90_000])
    assert steps[4] == {("performance", "regressed", "transfer_bytes", "high")}


def test_browser_metrics_and_higher_is_better() -> None:
    config = make_config(performance_thresholds={"lcp": 20, "score": 10})
    policy = DetectionPolicy(higher_is_better=frozenset({"score"}))
    site, replay = Site(metrics={"lcp_ms": 2000, "score": 90}), Replay(config=config, policy=policy)
    for _ in range(3):
        replay.step(site)
    site.metrics.update({"lcp_ms": 2600, "score": 70})
    assert replay.step(site) == set()
    assert replay.step(site) == {("performance", "regressed", "lcp_ms", "medium"),
                                 ("performance", "regressed", "score", "high")}


def test_failed_or_disabled_performance_is_skipped() -> None:
    site, replay = Site(), Replay(config=make_config(performance=False))
    assert run(replay, site, "load_time_ms", [1000, 1000, 1000, 3000, 3000]) == [set()] * 5
    site, replay = Site(), Replay()
    run(replay, site, "load_time_ms", [1000, 1000, 1000])
    slow = site.scan()
    slow.performance.metrics["load_time_ms"] = 3000  # type: ignore[union-attr]
    slow.analysis_errors["performance"] = "browser crashed"
    assert replay.judge(slow) == []
    assert run(replay, site, "load_time_ms", [1000]) == [set()]


def test_non_finite_measurements_are_ignored() -> None:
    site, replay = Site(), Replay()
    steps = run(replay, site, "load_time_ms", [1000, float("nan"), 1000, float("inf"), 1000, 1000, 1300, 1300])
    assert [i for i, step in enumerate(steps) if step] == [7]
    assert steps[7] == {("performance", "regressed", "load_time_ms", "medium")}
