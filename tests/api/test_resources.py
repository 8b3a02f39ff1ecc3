"""The API's resources as a user meets them: config import/export, alert rules with masked secrets,
deliveries without secrets, the technology stack with its history, metric series, the stored body,
changes marked false positive, alerts acknowledged and resolved — and 422s that name the field."""

from __future__ import annotations

import yaml
from tests.api.conftest import WEBHOOK_SECRET_URL, Client, Seeded, config_body

from techscaniq.domain.common import REVEAL_SECRETS
from techscaniq.system import MonitoringSystem


async def test_export_then_import_round_trips_and_reports_each_bad_item(
    system: MonitoringSystem, seeded: Seeded, client: Client
) -> None:
    api = client("org-a")
    exported = await api.get("/api/v1/configs/export", params={"format": "yaml"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(exported.text)
    assert [c["name"] for c in document["configs"]] == ["Site A"]
    assert WEBHOOK_SECRET_URL not in exported.text and "**********" in exported.text

    # Re-importing the masked export updates in place and keeps the stored secret.
    document["configs"][0]["name"] = "Site A renamed"
    document["configs"].append(config_body("New site", url="https://new.example.test/"))
    document["configs"].append({**config_body("Broken"), "url": "ftp://x",
                                "schedule": {"type": "cron", "expression": "99 * * * *"}})
    document["configs"].append("not an object")
    imported = await api.post("/api/v1/configs/import", content=yaml.safe_dump(document),
                              headers={"Content-Type": "application/yaml"})
    assert imported.status_code == 200, imported.text
    outcome = imported.json()
    assert outcome["updated"] == [seeded.config_id] and len(outcome["created"]) == 1
    errors = {error["index"]: error for error in outcome["errors"]}
    assert set(errors) == {2, 3}
    assert errors[2]["name"] == "Broken"
    assert {d["field"] for d in errors[2]["detail"]} == {"url", "schedule"}
    stored = await system.get_monitoring_config(seeded.config_id, "org-a")
    assert stored.name == "Site A renamed"
    channel = stored.alert_rules[0].notification_channels[0].model_dump(context=REVEAL_SECRETS)
    assert channel["url"] == WEBHOOK_SECRET_URL

    # A dry run validates without storing; a masked secret in a new config is refused by name.
    dry = await api.post("/api/v1/configs/import", params={"dry_run": "true"}, json=[config_body("Dry")])
    assert dry.json()["created"] and await system.storage.configs.count("org-a") == 2
    masked = await api.post("/api/v1/configs/import", json=[{**config_body("M"), "alert_rules": [
        {"name": "r", "notification_channels": [{"type": "slack", "webhook_url": "**********"}]}]}])
    assert masked.json()["errors"][0]["detail"][0]["field"] == "alert_rules.0.notification_channels.0.webhook_url"
    # JSON export with secrets is for admins and carries them in clear.
    full = await api.get("/api/v1/configs/export", params={"include_secrets": "true"})
    assert WEBHOOK_SECRET_URL in full.text
    # Hostile documents are refused with a reason, never a crash.
    bomb = "a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    refused = await api.post("/api/v1/configs/import", content=bomb, headers={"Content-Type": "application/yaml"})
    assert refused.status_code == 400 and "aliases" in refused.json()["detail"]
    assert (await api.post("/api/v1/configs/import", content=b"{nope")).status_code == 400


async def test_rules_are_edited_one_by_one_and_masked_secrets_are_kept(
    system: MonitoringSystem, seeded: Seeded, client: Client
) -> None:
    api = client("org-a")
    rules_url = f"/api/v1/configs/{seeded.config_id}/rules"
    listed = (await api.get(rules_url)).json()
    assert listed[0]["notification_channels"][0]["url"] == "**********"
    assert listed[0]["notification_channels"][0]["headers"] == {"X-Token": "**********"}

    changed = {**listed[0], "name": "Renamed", "severity": "critical"}
    updated = await api.put(f"{rules_url}/rule-1", json=changed)
    assert updated.status_code == 200, updated.text
    stored = (await system.get_monitoring_config(seeded.config_id)).alert_rules[0]
    assert stored.name == "Renamed" and stored.severity == "critical"
    assert stored.notification_channels[0].model_dump(context=REVEAL_SECRETS)["url"] == WEBHOOK_SECRET_URL

    added = await api.post(rules_url, json={"id": "perf", "name": "Slow", "conditions": {"type": "performance"}})
    assert added.status_code == 201
    assert (await api.post(rules_url, json={"id": "perf", "name": "again"})).status_code == 409
    bad = await api.post(rules_url, json={"name": "", "conditions": {"min_impact": "huge"}})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["detail"]} == {"name", "conditions.min_impact"}
    assert (await api.delete(f"{rules_url}/perf")).status_code == 204
    assert [r["id"] for r in (await api.get(rules_url)).json()] == ["rule-1"]
    # Pausing (any config update) keeps the secrets too.
    await api.post(f"/api/v1/configs/{seeded.config_id}/resume")
    stored = (await system.get_monitoring_config(seeded.config_id)).alert_rules[0]
    assert stored.notification_channels[0].model_dump(context=REVEAL_SECRETS)["url"] == WEBHOOK_SECRET_URL


async def test_alerts_acknowledge_resolve_and_deliveries_hide_secrets(seeded: Seeded, client: Client) -> None:
    api = client("org-a")
    deliveries = await api.get(f"/api/v1/alerts/{seeded.alert_id}/deliveries")
    assert deliveries.status_code == 200
    assert [d["id"] for d in deliveries.json()] == [seeded.delivery_id]
    assert "very-secret-path" not in deliveries.text and "header-secret-value" not in deliveries.text
    assert deliveries.json()[0]["log"][0]["outcome"] == "failed"

    assert (await api.get(f"/api/v1/alerts/{seeded.alert_id}")).json()["summary"] == "jQuery removed"
    acknowledged = (await api.post(f"/api/v1/alerts/{seeded.alert_id}/acknowledge")).json()
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged_by"]
    assert acknowledged["summary"] == "jQuery removed"
    resolved = (await api.post(f"/api/v1/alerts/{seeded.alert_id}/resolve")).json()
    assert resolved["status"] == "resolved" and resolved["summary"] == "Resolved: jQuery removed"
    listed = (await api.get("/api/v1/alerts", params={"status": "resolved"})).json()
    assert [(a["id"], a["summary"]) for a in listed] == [(seeded.alert_id, "Resolved: jQuery removed")]
    assert (await api.get("/api/v1/alerts", params={"status": "triggered"})).json() == []


async def test_changes_filter_and_false_positive_feedback(seeded: Seeded, client: Client) -> None:
    api = client("org-a")
    [listed] = (await api.get("/api/v1/changes", params={"type": "technology"})).json()
    assert listed["summary"] == "jQuery removed"  # the sentence the dashboard shows
    assert (await api.get(f"/api/v1/changes/{seeded.change_id}")).json()["summary"] == "jQuery removed"
    assert (await api.get("/api/v1/changes", params={"type": "security"})).json() == []
    assert (await api.get("/api/v1/changes", params={"min_impact": "high"})).json() == []
    assert (await api.post(f"/api/v1/changes/{seeded.change_id}/false-positive")).json()["false_positive"] is True
    assert (await api.delete(f"/api/v1/changes/{seeded.change_id}/false-positive")).json()["false_positive"] is False


async def test_stack_history_metric_series_and_the_stored_body(seeded: Seeded, client: Client) -> None:
    api = client("org-a")
    stack = (await api.get(f"/api/v1/configs/{seeded.config_id}/technologies")).json()
    assert {(t["name"], t["version"]) for t in stack["current"]} == {("nginx", "1.25"), ("React", "18.2.0")}
    history = {t["name"]: t for t in stack["history"]}
    assert history["jQuery"]["present"] is False and history["React"]["present"] is True
    assert history["jQuery"]["last_seen"].startswith("2026-05-01T12:00")
    assert [v["version"] for v in history["nginx"]["versions"]] == ["1.24", "1.25"]
    assert history["nginx"]["first_seen"].startswith("2026-05-01T12:00")

    series = (await api.get(f"/api/v1/configs/{seeded.config_id}/metrics",
                            params=[("name", "ttfb"), ("name", "load_time_ms")])).json()["series"]
    assert [p["value"] for p in series["ttfb_ms"]] == [80, 120]
    assert [p["value"] for p in series["load_time_ms"]] == [160, 240]
    bad = await api.get(f"/api/v1/configs/{seeded.config_id}/metrics", params={"name": "drop table;"})
    assert bad.status_code == 422 and bad.json()["detail"][0] == {
        "field": "name", "in": "query", "type": "value_error", "message": bad.json()["detail"][0]["message"]}

    body = await api.get(f"/api/v1/scans/{seeded.scan_ids[0]}/body")
    assert body.content == b"<html><script>alert(1)</script></html>"
    assert body.headers["content-type"] == "application/octet-stream"  # never rendered as our page
    assert body.headers["content-disposition"].startswith("attachment")

    overview = (await api.get("/api/v1/overview")).json()
    assert overview[0]["last_scan"]["security"]["grade"] == "A"
    assert overview[0]["last_scan"]["metrics"]["ttfb_ms"] == 120
    summaries = (await api.get("/api/v1/scans", params={"summary": "true"})).json()
    assert [s["id"] for s in summaries] == list(reversed(seeded.scan_ids))


async def test_query_parameters_get_422s_naming_them(client: Client) -> None:
    api = client("org-a")
    response = await api.get("/api/v1/scans", params={"limit": "0", "status": "sideways", "since": "yesterday"})
    assert response.status_code == 422
    assert {(d["field"], d["in"]) for d in response.json()["detail"]} == {
        ("limit", "query"), ("status", "query"), ("since", "query")}
    assert (await api.post("/api/v1/configs", content=b"[1,2")).status_code == 422
