"""A site evolves scan by scan; after each scan exactly the expected changes are stored, no more, no fewer."""

from __future__ import annotations

from tests.changes.builders import Site, Timeline, certificate, make_config, summary, tech

from techscaniq.changes import ChangeDetector
from techscaniq.domain.common import new_id
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.technology import Detection
from techscaniq.observability.metrics import REGISTRY
from techscaniq.storage.sql import SqlStorage


async def test_technology_added_version_bumped_then_removed(timeline: Timeline) -> None:
    site = Site()
    assert await timeline.step(site) == set()  # first scan: the baseline, nothing to compare with

    site.technologies["Stripe"] = tech("Stripe", categories=("Payment processors",))
    [added] = await timeline.step_changes(site)
    assert (added.type.value, added.change_type, added.subject, added.impact.value) == (
        "technology", "added", "Stripe", "low")
    assert added.previous_scan_id == timeline.scans[0].id and added.scan_id == timeline.scans[1].id
    assert added.evidence["patterns"][0]["matched"] == "/static/stripe-.js"
    assert await timeline.step(site) == set()

    site.technologies["jQuery"] = tech("jQuery", "4.0.1", categories=("JavaScript libraries",))
    site.technologies["WordPress"] = tech("WordPress", "6.4.3", categories=("CMS", "Blogs"))
    changes = await timeline.step_changes(site)
    assert summary(changes) == {
        ("technology", "upgraded", "jQuery", "medium"),  # major
        ("technology", "upgraded", "WordPress", "low"),  # patch
    }
    levels = {c.subject: (c.before, c.after, c.evidence["level"]) for c in changes}
    assert levels == {"jQuery": ("3.6.0", "4.0.1", "major"), "WordPress": ("6.4.2", "6.4.3", "patch")}

    del site.technologies["jQuery"]
    assert await timeline.step(site) == set()  # one scan without it could be a partial page
    [removed] = await timeline.step_changes(site)
    assert (removed.change_type, removed.subject, removed.impact.value, removed.before["version"]) == (
        "removed", "jQuery", "medium", "4.0.1")
    assert removed.evidence["absent_in_scans"] == [timeline.scans[-1].id, timeline.scans[-2].id]
    assert removed.previous_scan_id == timeline.scans[-3].id  # the last scan that showed it
    assert await timeline.step(site) == set()


async def test_cms_replaced_is_high_impact(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    del site.technologies["WordPress"]
    site.technologies["Drupal"] = tech("Drupal", "10.2", categories=("CMS",))
    assert await timeline.step(site) == {("technology", "added", "Drupal", "high")}
    changes = await timeline.step_changes(site)
    assert summary(changes) == {("technology", "removed", "WordPress", "high")}
    assert await timeline.step(site) == set()


async def test_performance_spike_is_ignored_and_a_regression_is_raised_once_then_recovers(timeline: Timeline) -> None:
    site = Site()
    for _ in range(3):
        assert await timeline.step(site) == set()  # building the baseline

    site.metrics["load_time_ms"] = 1500.0  # one slow scan: no change
    assert await timeline.step(site) == set()
    site.metrics["load_time_ms"] = 1010.0
    assert await timeline.step(site) == set()

    site.metrics["load_time_ms"] = 1300.0  # +30% against a 20% threshold, for three scans
    assert await timeline.step(site) == set()
    [regressed] = await timeline.step_changes(site)
    assert summary([regressed]) == {("performance", "regressed", "load_time_ms", "medium")}
    assert regressed.before == 1000.0 and regressed.after == 1300.0
    assert regressed.evidence["threshold_percent"] == 20 and regressed.evidence["change_percent"] == 30.0
    assert regressed.evidence["breaching_scan_ids"] == [timeline.scans[-2].id, timeline.scans[-1].id]
    assert await timeline.step(site) == set()

    site.metrics["load_time_ms"] = 990.0
    [recovered] = await timeline.step_changes(site)
    assert summary([recovered]) == {("performance", "recovered", "load_time_ms", "low")}
    assert (recovered.before, recovered.after) == (1300.0, 990.0)
    assert await timeline.step(site) == set()


async def test_severe_regression_is_high_impact(timeline: Timeline) -> None:
    site = Site()
    for _ in range(3):
        await timeline.step(site)
    site.metrics["ttfb_ms"] = 400.0  # +100% against 25%: more than twice the threshold
    assert await timeline.step(site) == set()
    assert await timeline.step(site) == {("performance", "regressed", "ttfb_ms", "high")}


async def test_security_header_removed(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    site.headers["Content-Security-Policy"] = site.headers["Content-Security-Policy"].replace("abc123", "zz9")
    assert await timeline.step(site) == set()  # a fresh nonce per response is not a change

    del site.headers["Strict-Transport-Security"]
    site.grade, site.score = "B", 70
    changes = await timeline.step_changes(site)
    assert summary(changes) == {
        ("security", "removed", "strict-transport-security", "high"),
        ("security", "degraded", "grade", "medium"),
    }
    header = next(c for c in changes if c.subject == "strict-transport-security")
    assert header.evidence["before"] == "max-age=31536000; includeSubDomains" and header.after is None
    assert await timeline.step(site) == set()


async def test_certificate_replaced_then_issuer_changed(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    site.tls = certificate(serial="02")
    [replaced] = await timeline.step_changes(site)
    assert summary([replaced]) == {("security", "replaced", "certificate", "low")}
    assert replaced.evidence["before"]["serial_number"] == "01" and replaced.evidence["after"]["serial_number"] == "02"
    assert await timeline.step(site) == set()
    site.tls = certificate(serial="03", issuer="Other Trust Services")
    assert await timeline.step(site) == {("security", "issuer_changed", "certificate", "medium")}


async def test_site_goes_down_and_comes_back(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    site.down = True
    assert await timeline.step(site) == set()  # one failure is a blip
    site.down = False
    assert await timeline.step(site) == set()

    site.down = True
    assert await timeline.step(site) == set()
    [down] = await timeline.step_changes(site)
    assert summary([down]) == {("availability", "down", "site", "critical")}
    assert [f["error"] for f in down.evidence["failures"]] == ["connection_error", "connection_error"]
    assert down.previous_scan_id == timeline.scans[-3].id  # compared with the last scan that answered
    assert await timeline.step(site) == set()

    site.down = False
    [up] = await timeline.step_changes(site)
    assert summary([up]) == {("availability", "up", "site", "low")}
    assert up.evidence["failed_scans"] == 3 and up.evidence["downtime_seconds"] == 3 * 3600
    assert await timeline.step(site) == set()  # nothing else changed while it was down


async def test_server_errors_count_as_down_and_a_lasting_404_is_a_status_change(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    site.status_code = 503
    assert await timeline.step(site) == set()
    assert await timeline.step(site) == {("availability", "down", "site", "critical")}
    site.status_code = 200
    assert await timeline.step(site) == {("availability", "up", "site", "low")}

    site.status_code, site.technologies = 404, {}  # an error page: no technology or header "removals"
    site.headers = {"Content-Type": "text/html"}
    assert await timeline.step(site) == set()
    assert await timeline.step(site) == {("availability", "changed", "status_code", "high")}


async def test_redirect_to_another_host(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    site.final_url = "https://parked.example.net/landing?session=1"
    assert await timeline.step(site) == set()
    site.final_url = "https://parked.example.net/landing?session=2"
    changes = await timeline.step_changes(site)
    assert summary(changes) == {("availability", "redirect_changed", "final_url", "high")}
    assert changes[0].before == "https://shop.example.test/" and changes[0].after == "https://parked.example.net/landing"


async def test_fingerprint_database_update_is_not_a_site_change(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    await timeline.step(site)
    before = REGISTRY.get_sample_value("techscaniq_changes_detected_total", {"type": "technology", "impact": "low"})

    # The new database knows Cloudflare and files Nginx under one more category.
    site.fingerprint_version = "2026.03"
    site.technologies["Cloudflare"] = tech("Cloudflare", categories=("CDN",))
    site.technologies["Nginx"] = tech("Nginx", categories=("Web servers", "Reverse proxies", "Caching"))
    changes = await timeline.step_changes(site)
    assert summary(changes) == {
        ("technology", "added", "Cloudflare", "low"),
        ("technology", "category_changed", "Nginx", "low"),
    }
    assert all(change.data_change for change in changes)
    after = REGISTRY.get_sample_value("techscaniq_changes_detected_total", {"type": "technology", "impact": "low"})
    assert after == before  # data changes are not counted as site changes
    assert await timeline.step(site) == set()
    assert await timeline.step(site) == set()


async def test_fingerprint_database_update_with_reanalysis_reports_nothing(storage: SqlStorage) -> None:
    """The stand-in re-analysis reads the body stored with the scan (real storage) and applies the "new
    database", as the scanner's callback does with the real fingerprint engine."""
    new_database = {
        "WordPress": tech("WordPress", "6.4.2", categories=("CMS", "Blogs")),
        "Nginx": tech("Nginx", categories=("Web servers",)),
        "jQuery": tech("jQuery", "3.6.0", categories=("JavaScript libraries",)),
        "Cloudflare": tech("Cloudflare", categories=("CDN",)),
    }
    reanalysed: list[str] = []

    async def reanalyze(scan: ScanResult) -> list[Detection] | None:
        body = await storage.scans.body(scan.id)
        reanalysed.append(scan.id)
        words = [*(body or b"").decode().split(), "Cloudflare"]  # the new database finds it in the same body
        return [new_database[word] for word in words if word in new_database]

    timeline = Timeline(storage, ChangeDetector(storage, reanalyze=reanalyze), make_config(id=f"cfg-{new_id()}"))
    site = Site()
    await timeline.step(site)
    await timeline.step(site)
    site.fingerprint_version = "2026.03"
    site.technologies["Cloudflare"] = new_database["Cloudflare"]
    site.technologies["Nginx"] = new_database["Nginx"]
    assert await timeline.step(site) == set()
    assert reanalysed == [timeline.scans[1].id, timeline.scans[0].id]
    # A real change right after the update is still a site change.
    site.technologies["Hotjar"] = tech("Hotjar", categories=("Analytics",))
    changes = await timeline.step_changes(site)
    assert summary(changes) == {("technology", "added", "Hotjar", "low")}
    assert not changes[0].data_change
    for _ in range(6):
        assert await timeline.step(site) == set()
    done = len(reanalysed)
    assert await timeline.step(site) == set()
    assert len(reanalysed) == done  # the update is older than the stability window: no more re-analysis


async def test_failing_reanalysis_falls_back_to_data_changes(storage: SqlStorage) -> None:
    async def reanalyze(scan: ScanResult) -> list[Detection] | None:
        raise ValueError("stored body is corrupt")

    timeline = Timeline(storage, ChangeDetector(storage, reanalyze=reanalyze), make_config(id=f"cfg-{new_id()}"))
    site = Site()
    await timeline.step(site)
    site.fingerprint_version = "2026.03"
    site.technologies["Cloudflare"] = tech("Cloudflare", categories=("CDN",))
    [change] = await timeline.step_changes(site)
    assert (change.subject, change.data_change, change.impact.value) == ("Cloudflare", True, "low")


async def test_flapping_low_confidence_detection_reports_nothing_until_stable(timeline: Timeline) -> None:
    site = Site()
    await timeline.step(site)
    for index in range(6):
        if index % 2 == 0:
            site.technologies["Hotjar"] = tech("Hotjar", confidence=25, categories=("Analytics",))
        else:
            site.technologies.pop("Hotjar")
        assert await timeline.step(site) == set()
    site.technologies["Hotjar"] = tech("Hotjar", confidence=25, categories=("Analytics",))
    assert await timeline.step(site) == set()
    assert await timeline.step(site) == {("technology", "added", "Hotjar", "low")}  # present twice in a row


async def test_redelivered_scan_stores_nothing_new(timeline: Timeline, storage: SqlStorage) -> None:
    site = Site()
    await timeline.step(site)
    site.technologies["Stripe"] = tech("Stripe")
    first = await timeline.step_changes(site)
    assert len(first) == 1
    scan = timeline.scans[-1]
    assert await timeline.detector.handle_scan(scan, timeline.config) == []
    # A fresh detector (a restart, or another replica) agrees and stores nothing either.
    assert await ChangeDetector(storage).handle_scan(scan, timeline.config) == []
    [stored] = await storage.changes.find(config_id=timeline.config.id)
    assert stored.id == first[0].id


async def test_metrics_follow_stored_changes(timeline: Timeline) -> None:
    def sample(name: str, labels: dict[str, str] | None = None) -> float:
        return REGISTRY.get_sample_value(name, labels or {}) or 0.0

    site = Site()
    await timeline.step(site)
    latency_before = sample("techscaniq_change_processing_latency_seconds_count")
    down_before = sample("techscaniq_changes_detected_total", {"type": "availability", "impact": "critical"})
    site.down = True
    await timeline.step(site)
    await timeline.step(site)
    assert sample("techscaniq_change_processing_latency_seconds_count") == latency_before + 2
    assert sample("techscaniq_changes_detected_total", {"type": "availability", "impact": "critical"}) == (
        down_before + 1)
