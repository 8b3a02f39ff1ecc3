"""Engine scenarios on real SQLite storage: grouping, dedupe, throttling, silences, acknowledgement,
auto-resolution, idempotency. Nothing is sent here; what matters is what lands in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.silences import InMemorySilenceStore, Silence
from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.observability.metrics import REGISTRY
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, make_change, make_config, make_rule

rule = make_rule


def down(scan_id: str, subject: str = "site", config_id: str = "cfg-1") -> Change:
    return make_change(scan_id, subject=subject, change_type="down", kind=ChangeKind.AVAILABILITY, impact=Impact.HIGH,
                       config_id=config_id)


def up(scan_id: str, subject: str = "site") -> Change:
    return make_change(scan_id, subject=subject, change_type="up", kind=ChangeKind.AVAILABILITY, impact=Impact.LOW)


@pytest.fixture
def engine(storage: SqlStorage, settings: Settings, clock: Clock) -> AlertEngine:
    return AlertEngine(storage, settings, clock=clock)


def suppressed(reason: str) -> float:
    return REGISTRY.get_sample_value("techscaniq_alerts_suppressed_total", {"reason": reason}) or 0.0


async def outbox(storage: SqlStorage, alert: Alert) -> list[str]:
    return sorted(
        f"{d.channel_type}:{d.kind}:{d.status.value}" for d in await storage.deliveries.list_for_alert(alert.id)
    )


async def test_changes_of_one_scan_become_one_alert_with_its_deliveries_in_the_outbox(
    engine: AlertEngine, storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule(name="Tech", conditions={"type": "technology", "change_types": ["added"]}))
    changes = [make_change(subject=name) for name in ("jQuery", "React", "Vue")]
    changes.append(make_change(subject="Nginx", change_type="removed"))  # not selected by the rule

    alerts = await engine.handle_changes(config, changes)

    assert len(alerts) == 1
    alert = alerts[0]
    assert sorted(c["subject"] for c in alert.changes) == ["React", "Vue", "jQuery"]
    assert alert.title == "Shop — jQuery added and 2 more changes"
    assert await outbox(storage, alert) == ["slack:triggered:pending", "webhook:triggered:pending"]
    stored = await storage.alerts.get(alert.id)
    assert stored is not None and stored.status is AlertStatus.TRIGGERED


async def test_handling_the_same_scan_twice_stores_one_alert_and_one_set_of_deliveries(
    engine: AlertEngine, storage: SqlStorage
) -> None:
    config = make_config(rule())
    first = await engine.handle_changes(config, [down("scan-1")])
    again = await engine.handle_changes(config, [down("scan-1")])

    assert len(first) == 1 and again == []
    assert len(await storage.alerts.find(config_id=config.id)) == 1
    assert len(await storage.deliveries.find()) == 2


async def test_a_repeat_of_an_open_alert_is_folded_into_it_not_notified_again(
    engine: AlertEngine, storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule())
    [alert] = await engine.handle_changes(config, [down("scan-1")])
    before = suppressed("open")
    clock.advance(minutes=5)
    [same] = await engine.handle_changes(config, [down("scan-2")])

    assert same.id == alert.id and same.occurrences == 2
    assert suppressed("open") == before + 1
    assert len(await storage.alerts.find(config_id=config.id)) == 1
    assert len(await storage.deliveries.find()) == 2  # still only the first notification
    # The folded scan handled again changes nothing.
    await engine.handle_changes(config, [down("scan-2")])
    stored = await storage.alerts.get(alert.id)
    assert stored is not None and stored.occurrences == 2


async def test_throttle_records_repeats_silently_and_the_next_notification_counts_them(
    engine: AlertEngine, storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule(throttle_minutes=60))
    [first] = await engine.handle_changes(config, [down("s1")])
    clock.advance(minutes=10)
    await engine.handle_changes(config, [up("s2")])  # resolves the first alert
    clock.advance(minutes=10)
    throttled_before = suppressed("throttled")
    [flap] = await engine.handle_changes(config, [down("s3")])
    assert flap.throttled and not flap.silenced
    assert suppressed("throttled") == throttled_before + 1
    assert await outbox(storage, flap) == []
    clock.advance(minutes=5)
    await engine.handle_changes(config, [down("s4")])  # folded into the throttled one: a second repeat
    clock.advance(minutes=5)
    await engine.handle_changes(config, [up("s5")])

    clock.advance(minutes=60)  # the throttle window since the first notification is over
    [later] = await engine.handle_changes(config, [down("s6")])

    assert not later.throttled
    assert later.suppressed_count == 2
    assert await outbox(storage, later) == ["slack:triggered:pending", "webhook:triggered:pending"]
    assert first.dedupe_key == flap.dedupe_key == later.dedupe_key


async def test_recovery_resolves_the_open_alert_and_queues_the_resolved_notification(
    engine: AlertEngine, storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule(notify_on_resolve=True))
    [alert] = await engine.handle_changes(config, [down("s1")])
    count_before = REGISTRY.get_sample_value("techscaniq_alert_resolution_seconds_count") or 0.0
    clock.advance(minutes=7)

    [resolved] = await engine.handle_changes(config, [up("s2")])

    assert resolved.id == alert.id and resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_at == clock.now
    assert REGISTRY.get_sample_value("techscaniq_alert_resolution_seconds_count") == count_before + 1
    assert await outbox(storage, alert) == [
        "slack:resolved:pending", "slack:triggered:pending", "webhook:resolved:pending", "webhook:triggered:pending",
    ]
    # Once resolved, the next outage is a new alert that notifies again.
    clock.advance(minutes=1)
    [again] = await engine.handle_changes(config, [down("s3")])
    assert again.id != alert.id and len(await outbox(storage, again)) == 2


async def test_an_alert_about_several_subjects_resolves_when_all_of_them_recovered(
    engine: AlertEngine, storage: SqlStorage
) -> None:
    config = make_config(rule())
    [alert] = await engine.handle_changes(config, [down("s1", "site"), down("s1", "api")])
    [partial] = await engine.handle_changes(config, [up("s2", "api")])
    assert partial.status is AlertStatus.TRIGGERED
    [done] = await engine.handle_changes(config, [up("s3", "site")])
    assert done.id == alert.id and done.status is AlertStatus.RESOLVED
    # Without notify_on_resolve nothing more is queued.
    assert len(await outbox(storage, alert)) == 2


async def test_acknowledged_alerts_still_absorb_repeats_and_resolve_on_recovery(
    engine: AlertEngine, storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule())
    [alert] = await engine.handle_changes(config, [down("s1")])
    acked = await engine.acknowledge(alert.id, by="alice@example.com")
    assert acked is not None and acked.status is AlertStatus.ACKNOWLEDGED
    assert acked.acknowledged_by == "alice@example.com" and acked.acknowledged_at == clock.now
    assert await engine.acknowledge("no-such-alert", by="bob") is None

    [folded] = await engine.handle_changes(config, [down("s2")])
    assert folded.id == alert.id and folded.status is AlertStatus.ACKNOWLEDGED
    [resolved] = await engine.handle_changes(config, [up("s3")])
    assert resolved.status is AlertStatus.RESOLVED
    # Acknowledging a resolved alert does not reopen it.
    again = await engine.acknowledge(alert.id, by="carol")
    assert again is not None and again.status is AlertStatus.RESOLVED


async def test_manual_resolution_with_a_resolved_notification(
    engine: AlertEngine, storage: SqlStorage, clock: Clock
) -> None:
    config = make_config(rule(notify_on_resolve=True, conditions={"type": "technology"}))
    await storage.configs.add(config, next_run_at=None)
    [alert] = await engine.handle_changes(config, [make_change("s1")])
    resolved = await engine.resolve(alert.id, organization_id="org-1")
    assert resolved is not None and resolved.status is AlertStatus.RESOLVED
    assert "webhook:resolved:pending" in await outbox(storage, alert)
    assert await engine.resolve(alert.id, organization_id="another-org") is None


async def test_a_silence_records_alerts_without_notifying_until_it_ends(
    storage: SqlStorage, settings: Settings, clock: Clock
) -> None:
    silences = InMemorySilenceStore()
    engine = AlertEngine(storage, settings, clock=clock, silences=silences)
    await silences.add(
        Silence(organization_id="org-1", starts_at=clock.now, ends_at=clock.now + timedelta(hours=1), comment="deploy")
    )
    config = make_config(rule())
    other_org = make_config(rule(), config_id="cfg-2", organization_id="org-2")
    before = suppressed("silence")

    [quiet] = await engine.handle_changes(config, [down("s1")])
    [loud] = await engine.handle_changes(other_org, [down("x1", config_id="cfg-2")])

    assert quiet.silenced and await outbox(storage, quiet) == []
    assert suppressed("silence") == before + 1
    assert not loud.silenced and len(await outbox(storage, loud)) == 2

    await engine.handle_changes(config, [up("s2")])
    clock.advance(hours=2)
    [after] = await engine.handle_changes(config, [down("s3")])
    assert not after.silenced and len(await outbox(storage, after)) == 2


async def test_a_weekly_maintenance_window_in_its_own_time_zone(
    storage: SqlStorage, settings: Settings, clock: Clock
) -> None:
    # Mondays 13:00-14:00 in Berlin = 12:00-13:00 UTC in March (CET); scoped to one config only.
    window = Silence(
        organization_id="org-1", config_id="cfg-1", kind="maintenance", timezone="Europe/Berlin",
        weekdays=[0], daily_start="13:00", daily_end="14:00",
    )
    engine = AlertEngine(storage, settings, clock=clock, silences=InMemorySilenceStore([window]))
    assert clock.now.weekday() == 0 and clock.now.hour == 12

    [in_window] = await engine.handle_changes(make_config(rule()), [down("s1")])
    [other_config] = await engine.handle_changes(
        make_config(rule(), config_id="cfg-9"), [down("o1", config_id="cfg-9")]
    )
    assert in_window.silenced and not other_config.silenced

    clock.advance(hours=1, minutes=1)  # 14:01 Berlin
    assert not window.active_at(clock.now)
    assert window.active_at(clock.now + timedelta(days=7, hours=-1))  # next Monday, inside again
    assert not window.active_at(clock.now + timedelta(days=1, hours=-1))  # Tuesday


def test_overnight_windows_and_clear_errors() -> None:
    night = Silence(organization_id="o", timezone="UTC", weekdays=[4], daily_start="22:00", daily_end="02:00")
    friday_late = _utc(2026, 3, 6, 23, 30)
    assert night.active_at(friday_late)
    assert night.active_at(friday_late + timedelta(hours=2))  # Saturday 01:30 belongs to Friday's window
    assert not night.active_at(friday_late + timedelta(hours=3))
    assert not night.active_at(friday_late - timedelta(days=1))  # Thursday 23:30

    with pytest.raises(ValidationError, match="unknown time zone"):
        Silence(organization_id="o", timezone="Mars/Olympus", daily_start="01:00", daily_end="02:00")
    with pytest.raises(ValidationError, match="needs ends_at"):
        Silence(organization_id="o")
    with pytest.raises(ValidationError, match="weekdays"):
        Silence(organization_id="o", weekdays=[7], daily_start="01:00", daily_end="02:00")


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def test_changes_without_a_matching_rule_raise_nothing(engine: AlertEngine, storage: SqlStorage) -> None:
    config = make_config(rule(conditions={"type": "security", "min_impact": "high"}, enabled=True))
    assert await engine.handle_changes(config, [make_change(impact=Impact.CRITICAL)]) == []
    disabled = make_config(rule(enabled=False))
    assert await engine.handle_changes(disabled, [down("s1")]) == []
    assert await storage.alerts.find() == []


async def test_hostile_change_values_are_bounded_in_the_stored_alert(engine: AlertEngine) -> None:
    huge = make_change("s1", subject="x" * 100_000, after={"blob": "y" * 100_000})
    [alert] = await engine.handle_changes(make_config(rule(conditions={"type": "technology"})), [huge])
    [summary] = alert.changes
    assert len(summary["subject"]) == 2000 and len(summary["after"]) == 2000
    assert len(alert.title) <= 300


async def test_silences_in_the_database_survive_a_restart(
    storage: SqlStorage, settings: Settings, clock: Clock
) -> None:
    store = storage.silences
    silence = Silence(organization_id="org-1", ends_at=clock.now + timedelta(hours=1), created_by="alice")
    await store.add(silence)
    await store.add(Silence(organization_id="org-2", ends_at=clock.now + timedelta(hours=1)))

    reopened = SqlStorage(settings).silences  # another process over the same database
    assert [s.id for s in await reopened.list("org-1")] == [silence.id]
    [quiet] = await AlertEngine(storage, settings, clock=clock, silences=reopened).handle_changes(
        make_config(rule()), [down("s1")]
    )
    assert quiet.silenced
    assert await reopened.remove(silence.id, organization_id="org-2") is False  # not that organization's
    assert await reopened.remove(silence.id, organization_id="org-1") is True
    assert await store.active("org-1", "cfg-1", clock.now) is None


async def test_changes_of_another_config_are_never_alerted_under_this_one(engine: AlertEngine) -> None:
    assert await engine.handle_changes(make_config(rule()), [down("s1", config_id="someone-else")]) == []
