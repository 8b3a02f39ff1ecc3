"""Technology changes and their noise control, on the pure core."""

from __future__ import annotations

import pytest
from tests.changes.builders import Replay, Site, make_config, tech

from techscaniq.changes import DetectionPolicy
from techscaniq.changes.technology import ABSENT, STRONG, WEAK, settled_presence
from techscaniq.changes.versions import compare_versions
from techscaniq.domain.common import Impact


@pytest.mark.parametrize(("before", "after", "direction", "level"), [
    ("3.6.0", "4.0.0", "upgraded", "major"),
    ("3.6.0", "3.7", "upgraded", "minor"),
    ("1.2.3", "1.2.10", "upgraded", "patch"),  # numeric, not lexical
    ("1.2.3.4", "1.2.3.5", "upgraded", "patch"),
    ("6.4.2", "6.3.9", "downgraded", "minor"),
    ("1.2", "1.2.0", "version_changed", "other"),
    ("1.0.0-beta", "1.0.0", "upgraded", "other"),  # a pre-release comes before its release (semver)
    ("3.6.0-beta.2", "3.6.0-beta.10", "upgraded", "other"),
    ("3.6.0", "3.6.1-rc.1", "upgraded", "patch"),
    ("15.0.0", "15.0.0-canary.206", "downgraded", "other"),
    ("1.2", "v1.2.0+build.7", "version_changed", "other"),
    ("unknown", "1.2", "version_changed", "other"),
])
def test_version_comparison(before: str, after: str, direction: str, level: str) -> None:
    delta = compare_versions(before, after)
    assert (delta.direction, delta.level) == (direction, level)


@pytest.mark.parametrize(("newest_first", "expected"), [
    ([ABSENT, ABSENT, ABSENT], False),
    ([STRONG, ABSENT, ABSENT], True),  # a strong first sighting counts at once
    ([WEAK, ABSENT, ABSENT], False),  # a weak one needs S in a row
    ([WEAK, WEAK, ABSENT], True),
    ([ABSENT, STRONG, STRONG], True),  # one absence is not a removal
    ([ABSENT, ABSENT, STRONG], False),
    ([WEAK, ABSENT, WEAK, ABSENT, WEAK], None),  # never settled: never reported
    ([STRONG, ABSENT, ABSENT, STRONG, STRONG], False),  # back after a removal but flapping: wait for S
    ([STRONG, STRONG, ABSENT, ABSENT, STRONG], True),
])
def test_settled_presence(newest_first: list[int], expected: bool | None) -> None:
    assert settled_presence(newest_first, stable=2, flap_window=6) is expected


def test_downgrade_and_unknown_versions() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.technologies["WordPress"] = tech("WordPress", None, categories=("CMS", "Blogs"))
    assert replay.step(site) == set()  # the version was not visible this time: not a change
    site.technologies["WordPress"] = tech("WordPress", "6.3.1", categories=("CMS", "Blogs"))
    assert replay.step(site) == {("technology", "downgraded", "WordPress", "medium")}
    site.technologies["Nginx"] = tech("Nginx", "1.25.3", categories=("Web servers", "Reverse proxies"))
    assert replay.step(site) == set()  # a version appearing for the first time is no upgrade


def test_strong_technology_that_flaps_after_being_added_is_reported_once() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    steps = []
    for index in range(8):
        if index % 2 == 0:
            site.technologies["Intercom"] = tech("Intercom", categories=("Live chat",))
        else:
            site.technologies.pop("Intercom")
        steps.append(replay.step(site))
    assert steps[0] == {("technology", "added", "Intercom", "low")}
    assert all(step == set() for step in steps[1:])


def test_security_technology_removed_is_high() -> None:
    site = Site()
    site.technologies["Cloudflare Bot Management"] = tech("Cloudflare Bot Management", categories=("Security",))
    replay = Replay()
    replay.step(site)
    site.technologies.pop("Cloudflare Bot Management")
    replay.step(site)
    assert replay.step(site) == {("technology", "removed", "Cloudflare Bot Management", "high")}


def test_impact_overrides_from_policy() -> None:
    policy = DetectionPolicy(impact_overrides={"technology.added:Stripe": Impact.CRITICAL,
                                               "technology.added:Payment processors": Impact.HIGH})
    site, replay = Site(), Replay(policy=policy)
    replay.step(site)
    site.technologies["Stripe"] = tech("Stripe", categories=("Payment processors",))
    site.technologies["Adyen"] = tech("Adyen", categories=("Payment processors",))
    assert replay.step(site) == {("technology", "added", "Stripe", "critical"),
                                 ("technology", "added", "Adyen", "high")}


def test_disabled_or_failed_technology_analysis_reports_nothing() -> None:
    site, replay = Site(), Replay(config=make_config(technologies=False))
    replay.step(site)
    site.technologies = {}
    replay.step(site)
    assert replay.step(site) == set()

    site, replay = Site(), Replay()
    replay.step(site)
    broken = site.scan().model_copy(update={"technologies": [], "analysis_errors": {"technologies": "timeout"}})
    assert replay.judge(broken) == []
    assert replay.step(site) == set()  # compared with the last scan that was analysed
    assert replay.step(site) == set()


def test_error_pages_do_not_remove_technologies() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    kept = dict(site.technologies)
    site.status_code, site.technologies = 404, {}
    assert replay.step(site) == set()
    assert replay.step(site) == {("availability", "changed", "status_code", "high")}
    site.status_code, site.technologies = 200, kept
    assert replay.step(site) == set()  # nothing removed, nothing re-added
    assert replay.step(site) == {("availability", "changed", "status_code", "low")}


def test_evidence_is_bounded_for_hostile_pages() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    huge = tech("Evil", "1.0")
    huge.evidence = [huge.evidence[0].model_copy(update={"matched": "x" * 200_000}) for _ in range(50)]
    site.technologies["Evil"] = huge
    [change] = replay.step_changes(site)
    assert len(change.evidence["patterns"]) == 10
    assert all(len(p["matched"]) <= 301 for p in change.evidence["patterns"])


def test_two_back_ends_with_different_versions_raise_one_change_not_one_per_scan() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    steps = []
    for index in range(8):
        version = "3.7.1" if index % 2 == 0 else "3.6.0"
        site.technologies["jQuery"] = tech("jQuery", version, categories=("JavaScript libraries",))
        steps.append(replay.step(site))
    assert steps[0] == {("technology", "upgraded", "jQuery", "low")}
    assert all(step == set() for step in steps[1:])


def test_hostile_version_strings_are_clipped_in_stored_changes() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.technologies["jQuery"] = tech("jQuery", "4." + "9" * 100_000, categories=("JavaScript libraries",))
    [change] = replay.step_changes(site)
    assert change.change_type == "upgraded" and change.before == "3.6.0"
    assert len(change.after) <= 301


def test_implied_technologies_ride_along_with_the_one_that_implies_them() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    php = tech("PHP", categories=("Programming languages",)).model_copy(update={"evidence": [],
                                                                               "implied_by": ["Magento"]})
    mysql = tech("MySQL", categories=("Databases",)).model_copy(update={"evidence": [], "implied_by": ["PHP"]})
    site.technologies.update({"Magento": tech("Magento", "2.4", categories=("Ecommerce",)), "PHP": php,
                              "MySQL": mysql})
    [change] = replay.step_changes(site)
    assert (change.subject, change.impact.value) == ("Magento", "medium")
    assert sorted(change.evidence["implies"]) == ["MySQL", "PHP"]
    assert sorted(change.evidence["technologies"]) == ["Magento", "MySQL", "PHP"]
    for name in ("Magento", "PHP", "MySQL"):
        site.technologies.pop(name)
    replay.step(site)
    [change] = replay.step_changes(site)
    assert (change.change_type, change.subject, change.impact.value) == ("removed", "Magento", "high")
    assert sorted(change.evidence["implies"]) == ["MySQL", "PHP"]


def test_turning_technology_analysis_on_is_not_a_wave_of_additions() -> None:
    site, replay = Site(), Replay(config=make_config(technologies=False))
    for _ in range(2):
        unanalysed = site.scan().model_copy(update={"technologies": [], "fingerprint_version": None})
        assert replay.judge(unanalysed) == []
    replay.config = make_config()
    assert replay.step(site) == set()  # the first analysed scan is the baseline
    assert replay.step(site) == set()


def test_a_renamed_product_is_not_removed_and_added() -> None:
    # Scans stored before the fingerprint sets merged call it "TYPO3 CMS" (an alias) or "owl carousel" (case).
    site, replay = Site(), Replay()
    site.technologies["TYPO3 CMS"] = tech("TYPO3 CMS", "12.4.1", categories=("CMS",))
    site.technologies["owl carousel"] = tech("owl carousel", categories=("JavaScript libraries",))
    for _ in range(3):
        replay.step(site)
    del site.technologies["TYPO3 CMS"], site.technologies["owl carousel"]
    site.technologies["TYPO3"] = tech("TYPO3", "12.4.1", categories=("CMS",))
    site.technologies["Owl Carousel"] = tech("Owl Carousel", categories=("JavaScript libraries",))
    assert [replay.step(site) for _ in range(3)] == [set(), set(), set()]
    site.technologies["TYPO3"] = tech("TYPO3", "13.0.0", categories=("CMS",))
    assert replay.step(site) == {("technology", "upgraded", "TYPO3", "medium")}  # versions compare across names
