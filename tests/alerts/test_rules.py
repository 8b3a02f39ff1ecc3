"""Rule matching is pure: each condition filters what a user would expect it to filter."""

from __future__ import annotations

import pytest

from techscaniq.alerts.rules import matches, matching_changes
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import AlertConditions, AlertRule

from .conftest import make_change


def conditions(**fields: object) -> AlertConditions:
    return AlertConditions.model_validate(fields)


def test_the_guides_rule_selects_added_and_removed_technologies_of_medium_impact() -> None:
    rule = conditions(type="technology", change_types=["added", "removed"], min_impact="medium")
    assert matches(rule, make_change(change_type="added", impact=Impact.MEDIUM))
    assert matches(rule, make_change(change_type="Removed", impact=Impact.CRITICAL))
    assert not matches(rule, make_change(change_type="upgraded"))
    assert not matches(rule, make_change(change_type="added", impact=Impact.LOW))
    assert not matches(rule, make_change(change_type="added", kind=ChangeKind.SECURITY))


def test_any_type_matches_every_kind_but_not_recoveries_unless_listed() -> None:
    anything = conditions(type="any")
    for kind in ChangeKind:
        assert matches(anything, make_change(kind=kind, change_type="regressed"))
    assert not matches(anything, make_change(kind=ChangeKind.AVAILABILITY, change_type="up"))
    assert not matches(anything, make_change(kind=ChangeKind.PERFORMANCE, change_type="improved"))
    assert matches(conditions(change_types=["up"]), make_change(kind=ChangeKind.AVAILABILITY, change_type="up"))


def test_technology_and_category_filters() -> None:
    by_name = conditions(technologies=["jquery"])
    assert matches(by_name, make_change(subject="jQuery"))
    assert not matches(by_name, make_change(subject="React"))
    # An availability change is about no technology, so it cannot satisfy a technology filter.
    assert not matches(by_name, make_change(kind=ChangeKind.AVAILABILITY, subject="site", change_type="down"))

    by_category = conditions(categories=["JavaScript libraries"])
    assert matches(by_category, make_change(evidence={"categories": ["JavaScript libraries"]}))
    assert matches(by_category, make_change(evidence={"detection": {"categories": ["javascript libraries"]}}))
    assert matches(by_category, make_change(after={"version": "3", "categories": ["JavaScript libraries"]}))
    assert not matches(by_category, make_change(evidence={"categories": ["CMS"]}))
    assert not matches(by_category, make_change(evidence={"categories": "not-a-list-of" * 3}))
    assert not matches(by_category, make_change())


def test_metric_filter_uses_the_performance_subject() -> None:
    rule = conditions(type="performance", metrics=["load_time"])
    assert matches(rule, make_change(kind=ChangeKind.PERFORMANCE, subject="load_time", change_type="regressed"))
    assert not matches(rule, make_change(kind=ChangeKind.PERFORMANCE, subject="ttfb", change_type="regressed"))


@pytest.mark.parametrize("flag", ["data_change", "false_positive"])
def test_database_updates_and_false_positives_are_ignored_by_default(flag: str) -> None:
    change = make_change(**{flag: True})
    assert not matches(conditions(), change)
    if flag == "data_change":
        assert matches(conditions(), change, include_data_changes=True)


def test_disabled_rules_match_nothing() -> None:
    changes = [make_change(), make_change(subject="React")]
    assert len(matching_changes(AlertRule(name="r"), changes)) == 2
    assert matching_changes(AlertRule(name="r", enabled=False), changes) == []
