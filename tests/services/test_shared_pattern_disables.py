"""A tenant pattern over its time budget is disabled for its organization on every replica, not only on the one
whose scan found it (issue #14: the disabled state was in one replica's memory). Two systems on one real
PostgreSQL database; the site is a real loopback server."""

from __future__ import annotations

from tests.security.test_redos import HOSTILE_PAGE, STALL_PATTERN, site
from tests.support.testsite import LocalSite

from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CUSTOM = {"Stall": {"cats": [1], "html": STALL_PATTERN}, "Acme CMS": {"cats": [1], "html": "acme-widget"}}


async def test_a_pattern_one_replica_disables_stops_on_the_other_and_a_new_set_clears_it(
    settings: Settings, fresh_database_url: str, local_site: LocalSite
) -> None:
    local_site.route("/", body=HOSTILE_PAGE.replace("<p>", "<p>acme-widget "))
    shared = settings.model_copy(update={"database_url": fresh_database_url, "fingerprints_custom_budget_ms": 50})
    async with MonitoringSystem(shared.model_copy(update={"instance_id": "replica-a"}), serve_http=False) as first, \
            MonitoringSystem(shared.model_copy(update={"instance_id": "replica-b"}), serve_http=False) as second:
        # Both claim from one database: B only serves here, so the scan-now request is A's to run (B scanning it
        # would disable the pattern itself, and "B knows of it from the database alone" would not be shown).
        second.scheduler.stop()
        await first.set_custom_fingerprints("org-a", CUSTOM)
        await second.sync_custom_fingerprints()
        config_id = await first.add_monitoring_config(site("org-a", local_site.url("/")))

        found = await first.scan_now(config_id, wait=True)
        assert isinstance(found, ScanResult)
        assert "Stall" in found.analysis_errors["technologies.custom"]

        # The other replica never ran the pattern: it knows of it from the database alone, in the API's
        # answer at once and in its scans after its fingerprint sync (every 30 s).
        [listed] = (await second.disabled_patterns.status("org-a"))["disabled"]
        assert (listed["technology"], listed["pattern"]) == ("Stall", STALL_PATTERN)
        assert "50 ms budget" in listed["reason"] and listed["disabled_at"] is not None
        [engine_pattern] = [p for p in second.fingerprints.engine("org-a").tenant_patterns if p.technology == "Stall"]
        assert engine_pattern.disabled is None  # not synced yet
        await second.sync_custom_fingerprints()
        assert engine_pattern.disabled == listed["reason"]
        assert engine_pattern.disabled_at == listed["disabled_at"]
        await second.pause_monitoring_config(config_id)  # its scans now run on `second` only
        on_second = await second.scan_now(config_id, wait=True)
        assert isinstance(on_second, ScanResult)
        assert "Acme CMS" in {t.name for t in on_second.technologies}
        assert "disabled for this organization: Stall " in on_second.analysis_errors["technologies.custom"]

        # Replacing the set (on either replica) enables the pattern again everywhere.
        await second.set_custom_fingerprints("org-a", CUSTOM)
        await first.sync_custom_fingerprints()
        assert (await first.disabled_patterns.status("org-a"))["disabled"] == []
        assert all(p.disabled is None for p in first.fingerprints.engine("org-a").tenant_patterns)
