"""Each step of the alert path (alerts/steps/) on its own, on real SQLite storage where storage is
involved. The composed path is specified in test_engine.py; these pin what each step contributes."""

from __future__ import annotations

import functools
from datetime import timedelta

from techscaniq.alerts.steps.group import MAX_CHANGES_PER_ALERT, fold_repeat, new_alert, title
from techscaniq.alerts.steps.identity import alert_id, dedupe_key, delivery_id
from techscaniq.alerts.steps.match import matches_by_rule, own_changes, recoveries
from techscaniq.alerts.steps.outbox import Outbox, deliveries
from techscaniq.alerts.steps.resolve import Resolver
from techscaniq.alerts.steps.silence import apply_silence
from techscaniq.alerts.steps.store import store_alert
from techscaniq.alerts.steps.throttle import Throttle
from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.domain.silence import Silence
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, make_change, make_config, make_rule

rule = functools.partial(make_rule, "Down")


def down(scan_id: str):  # type: ignore[no-untyped-def]
    return make_change(scan_id, subject="site", change_type="down", kind=ChangeKind.AVAILABILITY, impact=Impact.HIGH)


def alert_for(config: MonitoringConfig, the_rule: AlertRule, scan_id: str, clock: Clock) -> Alert:
    matched = [down(scan_id)]
    return new_alert(config, the_rule, matched, dedupe_key(config.id, the_rule.id, matched), clock())


# ---- identity ---------------------------------------------------------------------------------------


def test_ids_are_derived_so_the_same_scan_gets_the_same_alert_and_deliveries() -> None:
    assert alert_id("cfg", "r1", "scan-1") == alert_id("cfg", "r1", "scan-1")
    assert alert_id("cfg", "r1", "scan-1") != alert_id("cfg", "r1", "scan-2")
    assert delivery_id("a", 0, "triggered") != delivery_id("a", 0, "resolved") != delivery_id("a", 1, "resolved")


def test_the_dedupe_key_names_what_changed_not_which_scan_or_in_what_order() -> None:
    first = [make_change("s1", subject="React"), make_change("s1", subject="Vue")]
    later = [make_change("s2", subject="Vue"), make_change("s2", subject="React")]
    assert dedupe_key("cfg-1", "r1", first) == dedupe_key("cfg-1", "r1", later)
    assert dedupe_key("cfg-1", "r1", first) != dedupe_key("cfg-1", "r2", first)
    assert dedupe_key("cfg-1", "r1", first) != dedupe_key("cfg-1", "r1", first[:1])


# ---- match ------------------------------------------------------------------------------------------


def test_match_keeps_the_configs_own_changes_and_each_rule_that_selects_some() -> None:
    tech = rule(id="tech", conditions={"type": "technology"})
    avail = rule(id="avail", conditions={"type": "availability"})
    off = rule(id="off", enabled=False)
    config = make_config(tech, avail, off)
    changes = own_changes(config, [make_change("s1"), make_change("s1", subject="Vue", config_id="other")])

    assert [c.subject for c in changes] == ["jQuery"]
    assert [(r.id, [c.subject for c in m]) for r, m in matches_by_rule(config, changes)] == [("tech", ["jQuery"])]


def test_recoveries_leave_out_data_updates_and_false_positives() -> None:
    up = make_change("s1", subject="site", change_type="up", kind=ChangeKind.AVAILABILITY)
    explained = make_change("s1", subject="api", change_type="up", kind=ChangeKind.AVAILABILITY, data_change=True)
    rejected = make_change("s1", subject="cdn", change_type="up", kind=ChangeKind.AVAILABILITY, false_positive=True)
    assert recoveries([up, explained, rejected, down("s1")]) == [up]


# ---- group ------------------------------------------------------------------------------------------


def test_a_new_alert_groups_the_rules_changes_under_a_title_naming_the_first(clock: Clock) -> None:
    config = make_config(rule())
    matched = [make_change("s1", subject=name) for name in ("jQuery", "React")]
    alert = new_alert(config, rule(), matched, "key", clock())

    assert alert.id == alert_id(config.id, "r1", "s1") and alert.dedupe_key == "key"
    assert alert.change_ids == [c.id for c in matched]
    assert alert.title == title(config, matched) == "Shop — jQuery added and 1 more change"


def test_a_repeat_folds_into_the_open_alert_once_per_scan_and_keeps_the_last_summaries(clock: Clock) -> None:
    config = make_config(rule())
    alert = alert_for(config, rule(), "s0", clock)
    for number in range(1, MAX_CHANGES_PER_ALERT + 5):
        clock.advance(minutes=1)
        assert fold_repeat(alert, [down(f"s{number}")], clock())
    last_scan = f"s{MAX_CHANGES_PER_ALERT + 4}"
    assert not fold_repeat(alert, [down(last_scan)], clock())  # a scan folded in before changes nothing

    assert alert.occurrences == MAX_CHANGES_PER_ALERT + 5
    assert alert.last_occurred_at == clock()
    assert len(alert.changes) == MAX_CHANGES_PER_ALERT
    assert alert.changes[-1]["scan_id"] == last_scan


# ---- silence ----------------------------------------------------------------------------------------


async def test_a_silence_covering_the_config_marks_the_alert_silenced(storage: SqlStorage, clock: Clock) -> None:
    config = make_config(rule())
    window = Silence(organization_id="org-1", config_id="cfg-1", kind="maintenance",
                     starts_at=clock() - timedelta(hours=1), ends_at=clock() + timedelta(hours=1))
    elsewhere = Silence(organization_id="org-1", config_id="cfg-2",
                        starts_at=clock() - timedelta(hours=1), ends_at=clock() + timedelta(hours=1))
    await storage.silences.add(elsewhere)
    outside = alert_for(config, rule(), "s1", clock)
    assert await apply_silence(storage.silences, outside, clock()) is None and not outside.silenced

    await storage.silences.add(window)
    inside = alert_for(config, rule(), "s1", clock)
    assert await apply_silence(storage.silences, inside, clock()) == "maintenance" and inside.silenced
    later = alert_for(config, rule(), "s2", clock)
    assert await apply_silence(storage.silences, later, clock() + timedelta(hours=2)) is None


# ---- throttle ---------------------------------------------------------------------------------------


async def test_throttle_holds_back_a_notification_inside_the_window_and_counts_repeats_after_it(
    storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule(throttle_minutes=30))
    throttle = Throttle(storage)
    first = alert_for(config, config.alert_rules[0], "s1", clock)
    assert not await throttle.apply(first, config.alert_rules[0], clock())  # nothing notified before
    first.occurrences = 3  # two repeats were folded into it
    await storage.alerts.add(first)
    first.status = AlertStatus.RESOLVED
    await storage.alerts.update(first)

    clock.advance(minutes=29)
    inside = alert_for(config, config.alert_rules[0], "s2", clock)
    assert await throttle.apply(inside, config.alert_rules[0], clock()) and inside.throttled
    await storage.alerts.add(inside)

    clock.advance(minutes=2)
    after = alert_for(config, config.alert_rules[0], "s3", clock)
    assert not await throttle.apply(after, config.alert_rules[0], clock()) and not after.throttled
    assert after.suppressed_count == 2 + 1  # the two folded repeats and the throttled alert


# ---- store ------------------------------------------------------------------------------------------


async def test_store_saves_an_alert_once_and_hands_back_the_earlier_one_on_a_repeat(
    storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule())
    alert = alert_for(config, rule(), "s1", clock)
    assert (await store_alert(storage, alert, None)).new
    again = await store_alert(storage, alert_for(config, rule(), "s1", clock), None)

    assert not again.new and again.earlier is not None and again.earlier.id == alert.id
    assert len(await storage.alerts.find(config_id=config.id)) == 1


# ---- outbox -----------------------------------------------------------------------------------------


async def test_the_outbox_holds_one_delivery_per_channel_and_queuing_again_adds_nothing(
    storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule())
    alert = alert_for(config, rule(), "s1", clock)
    await storage.alerts.add(alert)
    outbox = Outbox(storage)

    assert await outbox.queue(alert, rule(), "triggered", clock())
    assert await outbox.ensure_triggered(alert, rule())  # a replay after a crash: same ids, nothing new
    stored = await storage.deliveries.list_for_alert(alert.id)
    assert sorted((d.channel_index, d.channel_type, d.kind) for d in stored) == [
        (0, "webhook", "triggered"), (1, "slack", "triggered")
    ]
    assert {d.id for d in stored} == {d.id for d in deliveries(alert, rule(), "triggered", clock())}


async def test_the_outbox_queues_nothing_for_a_silenced_or_throttled_alert_or_a_rule_without_channels(
    storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule())
    outbox = Outbox(storage)
    silenced = alert_for(config, rule(), "s1", clock)
    silenced.silenced = True
    throttled = alert_for(config, rule(), "s2", clock)
    throttled.throttled = True
    quiet = alert_for(config, rule(notification_channels=[]), "s3", clock)
    for alert in (silenced, throttled, quiet):
        await storage.alerts.add(alert)

    assert not await outbox.ensure_triggered(silenced, rule())
    assert not await outbox.ensure_triggered(throttled, rule())
    assert not await outbox.ensure_triggered(quiet, rule(notification_channels=[]))
    assert not await outbox.queue(quiet, rule(notification_channels=[]), "triggered", clock())
    assert await storage.deliveries.find() == []


# ---- resolve ----------------------------------------------------------------------------------------


async def test_an_alert_resolves_when_every_change_in_it_recovered_and_queues_the_resolved_notice(
    storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule(notify_on_resolve=True))
    matched = [down("s1"), make_change("s1", subject="api", change_type="down", kind=ChangeKind.AVAILABILITY)]
    alert = new_alert(config, config.alert_rules[0], matched, "key", clock())
    await storage.alerts.add(alert)
    resolver = Resolver(storage, Outbox(storage))

    def up(subject: str):  # type: ignore[no-untyped-def]
        return make_change("s2", subject=subject, change_type="up", kind=ChangeKind.AVAILABILITY)

    [(partly, notified)] = await resolver.resolve_recovered(config, [up("site")], clock())
    assert partly.status is AlertStatus.TRIGGERED and not notified
    clock.advance(minutes=5)
    [(resolved, notified)] = await resolver.resolve_recovered(config, [up("api")], clock())

    assert resolved.status is AlertStatus.RESOLVED and resolved.resolved_at == clock() and notified
    assert sorted(d.kind for d in await storage.deliveries.list_for_alert(alert.id)) == ["resolved", "resolved"]
    assert await resolver.resolve_recovered(config, [up("api")], clock()) == []  # nothing open any more
