"""The baseline row: bounded by the policy's window whatever the history, current only when it ends with
the scan stored just before (else rebuilt from the stored history), rebuilt after a policy change, never
moved back by an older scan, and stored with each repeated part once."""

from __future__ import annotations

from tests.changes.builders import Site, Timeline, make_config, summary

from techscaniq.changes import ChangeDetector, DetectionPolicy
from techscaniq.changes.baseline import rebuild
from techscaniq.domain.baseline import Baseline, pack, unpack
from techscaniq.domain.common import new_id
from techscaniq.storage.sql import SqlStorage

# A short window keeps these tests quick; the rules are the same at any length.
SHORT = DetectionPolicy(history_window=6, baseline_window=3, rebaseline_scans=3)


def short_timeline(storage: SqlStorage, policy: DetectionPolicy = SHORT) -> Timeline:
    return Timeline(storage, ChangeDetector(storage, policy), make_config(id=f"cfg-{new_id()}"))


async def stored_baseline(storage: SqlStorage, timeline: Timeline) -> Baseline | None:
    newest = timeline.scans[-1]
    return (await storage.baselines.get(newest.config_id, before=newest.started_at)).baseline


async def test_the_row_keeps_the_window_and_the_stack_whatever_the_history(storage: SqlStorage) -> None:
    site, timeline = Site(), short_timeline(storage)
    for _ in range(9):
        await timeline.step(site)
    baseline = await stored_baseline(storage, timeline)
    assert baseline is not None
    window = timeline.detector.policy.history_window
    assert [s.id for s in baseline.scans] == [s.id for s in timeline.scans[::-1][:window]]
    # The stack outlives the window: WordPress was first seen on the first scan, 9 scans ago.
    assert baseline.stack["wordpress"].first_seen == timeline.scans[0].started_at
    assert baseline.stack["wordpress"].last_seen == timeline.scans[-1].started_at
    assert baseline.stack["wordpress"].version == "6.4.2"
    # Rebuilding from the stored history gives the same window.
    history = await storage.scans.find(config_id=timeline.config.id, limit=1000)
    assert [s.id for s in rebuild(timeline.config.id, history, timeline.detector.policy).scans] == \
        [s.id for s in baseline.scans]
    # A steady site's stack is stored once, not once per scan of the window.
    packed = pack(baseline)
    assert len({s["parts"]["technologies"] for s in packed["scans"]}) == 1 and len(packed["parts"]) <= 3
    assert [s.model_dump() for s in unpack(packed).scans] == [s.model_dump() for s in baseline.scans]


async def test_a_scan_stored_but_not_judged_is_not_missed(storage: SqlStorage) -> None:
    """Another replica stored a scan and has not judged it yet: the baseline is not current, so this scan
    is judged against the stored history, which has it (jQuery gone twice in a row: removed)."""
    site, timeline = Site(), short_timeline(storage)
    for _ in range(3):
        await timeline.step(site)
    del site.technologies["jQuery"]
    unjudged = site.scan().model_copy(update={"config_id": timeline.config.id})
    await storage.scans.add(unjudged)
    assert await timeline.step(site) == {("technology", "removed", "jQuery", "medium")}
    baseline = await stored_baseline(storage, timeline)
    assert baseline is not None and baseline.scans[1].id == unjudged.id


async def test_a_policy_change_rebuilds_the_baseline_from_stored_history(storage: SqlStorage) -> None:
    site, short = Site(), short_timeline(storage)
    for _ in range(9):
        await short.step(site)
    wider = SHORT.model_copy(update={"history_window": 8, "availability_consecutive": 3})
    longer = Timeline(storage, ChangeDetector(storage, wider), short.config)
    longer.scans = short.scans
    site.down = True
    assert await longer.step(site) == set()
    baseline = await stored_baseline(storage, longer)
    # Rebuilt from the 10 stored scans to the wider window at once (advancing the old row would give 7).
    assert baseline is not None and [s.id for s in baseline.scans] == [s.id for s in longer.scans[::-1][:8]]
    assert await longer.step(site) == set()  # two failures were "down" under the old policy, three now
    assert summary(await longer.step_changes(site)) == {("availability", "down", "site", "critical")}


async def test_an_older_scan_judged_again_leaves_the_baseline_alone(storage: SqlStorage) -> None:
    site, timeline = Site(), short_timeline(storage)
    for _ in range(4):
        await timeline.step(site)
    before = await stored_baseline(storage, timeline)
    assert await timeline.detector.handle_scan(timeline.scans[1], timeline.config) == []
    after = await stored_baseline(storage, timeline)
    assert before is not None and after is not None
    assert [s.id for s in after.scans] == [s.id for s in before.scans]
