"""The endpoints the console added: the availability verdict of the overview and scan summaries (503 and
404 are down, paused is paused), uptime with a heartbeat, a schedule's next runs before it is saved, cloning
a config with its secrets, and a rule's Test through the real sender and address guard. Here 127.0.0.1
plays the internal network and 127.0.0.2 an allowed receiver (NOTIFICATION_ALLOWED_NETWORKS)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.api.conftest import Client
from tests.support.testsite import LocalSite

from techscaniq.api.auth import Role
from techscaniq.domain.common import REVEAL_SECRETS
from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": "org-a:key-a-0123456789abcdef",
                                       "notification_allowed_networks": "127.0.0.2/32"})


def body(name: str, url: str, **extra: object) -> dict[str, object]:
    return {"name": name, "url": url, "schedule": {"type": "interval", "expression": "1h"}, **extra}


async def test_overview_and_summaries_say_down_for_503_and_404_and_uptime_counts_scans(
    system: MonitoringSystem, client: Client, local_site: LocalSite
) -> None:
    local_site.route("/", body="<h1>ok</h1>")
    local_site.route("/busy", status=503)
    local_site.route("/gone", status=404)
    api = client("org-a")
    ids = {}
    for name, path in (("ok", "/"), ("busy", "/busy"), ("gone", "/gone")):
        ids[name] = (await api.post("/api/v1/configs", json=body(name, local_site.url(path)))).json()["id"]
        await system.scan_now(ids[name], wait=True)
    overview = {site["name"]: site for site in (await api.get("/api/v1/overview")).json()}
    assert overview["ok"]["availability"] == {"state": "up", "reason": "HTTP 200"}
    assert overview["busy"]["availability"] == {"state": "down", "reason": "HTTP 503"}
    assert overview["gone"]["availability"] == {"state": "down", "reason": "HTTP 404"}
    assert overview["busy"]["last_scan"]["availability"]["state"] == "down"
    await api.post(f"/api/v1/configs/{ids['busy']}/pause")
    paused = {site["name"]: site for site in (await api.get("/api/v1/overview")).json()}["busy"]
    assert paused["availability"]["state"] == "paused"

    local_site.route("/busy", body="<h1>back</h1>")
    await system.scan_now(ids["busy"], wait=True)
    uptime = (await api.get(f"/api/v1/configs/{ids['busy']}/uptime")).json()
    scans = len(uptime["heartbeat"])
    assert scans >= 2 and uptime["windows"]["24h"]["scans"] == scans
    assert uptime["windows"]["24h"]["up"] == 1 and uptime["windows"]["24h"]["complete"] is True
    # Weighted by time: down from the first scan until the one that came back, up from then until as_of.
    first, back = (datetime.fromisoformat(uptime["heartbeat"][i]["started_at"]) for i in (0, -1))
    as_of = datetime.fromisoformat(uptime["as_of"])
    assert uptime["windows"]["24h"]["observed_seconds"] == pytest.approx((as_of - first).total_seconds(), abs=0.01)
    assert uptime["windows"]["24h"]["up_seconds"] == pytest.approx((as_of - back).total_seconds(), abs=0.01)
    assert uptime["windows"]["24h"]["percent"] == pytest.approx(100 * (as_of - back) / (as_of - first), abs=0.01)
    assert [mark["state"] for mark in uptime["heartbeat"]][-1] == "up"  # oldest first: the newest is last
    assert uptime["heartbeat"][0] == {**uptime["heartbeat"][0], "state": "down", "reason": "HTTP 503"}
    bounded = (await api.get(f"/api/v1/configs/{ids['busy']}/uptime", params={"scans": 1})).json()
    assert bounded["windows"]["30d"]["complete"] is False and len(bounded["heartbeat"]) == 1


async def test_overview_keeps_the_last_grade_while_a_site_does_not_answer(
    system: MonitoringSystem, client: Client, local_site: LocalSite
) -> None:
    local_site.route("/", body="<h1>ok</h1>")
    api = client("org-a")
    config_id = (await api.post("/api/v1/configs", json=body("shop", local_site.url("/")))).json()["id"]
    graded = await system.scan_now(config_id, wait=True)
    assert isinstance(graded, ScanResult) and graded.security is not None
    local_site.route("/", raw=b"")  # the connection closes unanswered: a failed scan, nothing to grade
    failed = await system.scan_now(config_id, wait=True)
    assert isinstance(failed, ScanResult) and failed.security is None
    [site] = (await api.get("/api/v1/overview")).json()
    assert site["availability"]["state"] == "down" and site["last_scan"]["security"] is None
    assert site["last_grade"] == {"grade": graded.security.grade, "score": graded.security.score,
                                  "scan_id": graded.id, "started_at": graded.started_at.isoformat()}

    local_site.route("/", body="<h1>back</h1>")
    back = await system.scan_now(config_id, wait=True)
    assert isinstance(back, ScanResult) and back.security is not None
    [site] = (await api.get("/api/v1/overview")).json()
    assert site["last_grade"]["scan_id"] == back.id  # the newest scan's own grade again


async def test_schedule_preview_lists_next_runs_in_the_zone_and_names_bad_fields(client: Client) -> None:
    api = client("org-a", role=Role.VIEWER)
    answer = await api.post("/api/v1/schedules/preview", json={
        "schedule": {"type": "cron", "expression": "30 9 * * 1-5", "timezone": "Europe/Paris"}, "count": 4})
    assert answer.status_code == 200, answer.text
    runs = [datetime.fromisoformat(run) for run in answer.json()["next_runs"]]
    assert len(runs) == 4 and runs == sorted(runs)
    for run in runs:
        local = run.astimezone(ZoneInfo("Europe/Paris"))
        assert (local.hour, local.minute) == (9, 30) and local.weekday() < 5
    interval = (await api.post("/api/v1/schedules/preview", json={
        "schedule": {"type": "interval", "expression": "15m"}, "count": 2})).json()["next_runs"]
    gap = datetime.fromisoformat(interval[1]) - datetime.fromisoformat(interval[0])
    assert gap.total_seconds() == 900
    bad = await api.post("/api/v1/schedules/preview", json={"schedule": {"type": "cron", "expression": "61 * * * *"}})
    assert bad.status_code == 422 and "expression" in bad.text
    zone = await api.post("/api/v1/schedules/preview", json={
        "schedule": {"type": "interval", "expression": "1h", "timezone": "Mars/Olympus"}})
    assert zone.status_code == 422 and zone.json()["detail"][0]["field"] == "timezone"
    assert (await api.post("/api/v1/schedules/preview", json={"schedule": {}, "count": 99})).status_code == 422


async def test_clone_copies_rules_with_their_secrets_and_refuses_other_fields(
    system: MonitoringSystem, client: Client
) -> None:
    api = client("org-a")
    rule = {"name": "hook", "notification_channels": [{"type": "webhook", "url": "https://hooks.example.test/x",
                                                        "secret": "signing-secret-1"}]}
    source = (await api.post("/api/v1/configs", json=body("Shop", "https://shop.example.test/", tags=["eu"],
                                                          alert_rules=[rule], paused=True))).json()
    copy = await api.post(f"/api/v1/configs/{source['id']}/clone", json={"name": "Shop staging", "tags": ["staging"]})
    assert copy.status_code == 201, copy.text
    cloned = await system.get_monitoring_config(copy.json()["id"], "org-a")
    assert cloned.id != source["id"] and cloned.name == "Shop staging" and cloned.tags == ["staging"]
    channel = cloned.alert_rules[0].notification_channels[0].model_dump(context=REVEAL_SECRETS)
    assert channel["secret"] == "signing-secret-1" and channel["url"] == "https://hooks.example.test/x"
    assert "signing-secret-1" not in copy.text  # masked on the way out
    refused = await api.post(f"/api/v1/configs/{source['id']}/clone", json={"organization_id": "org-b"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "organization_id"
    viewer = client("org-a", role=Role.VIEWER)
    assert (await viewer.post(f"/api/v1/configs/{source['id']}/clone")).status_code == 403
    other = client("org-b")
    assert (await other.post(f"/api/v1/configs/{source['id']}/clone")).status_code == 404


async def test_rule_test_sends_through_the_real_sender_and_the_address_guard(
    system: MonitoringSystem, client: Client
) -> None:
    allowed, internal = LocalSite(host="127.0.0.2"), LocalSite()
    async with allowed, internal:
        for site in (allowed, internal):
            site.route("/hook", body="ok", content_type="text/plain")
        api = client("org-a")
        rule = {"name": "hooks", "notification_channels": [
            {"type": "webhook", "url": allowed.url("/hook")}, {"type": "webhook", "url": internal.url("/hook")}]}
        config = (await api.post("/api/v1/configs", json=body("Shop", "https://shop.example.test/",
                                                              alert_rules=[rule], paused=True))).json()
        rule_id = config["alert_rules"][0]["id"]
        answer = await api.post(f"/api/v1/configs/{config['id']}/rules/{rule_id}/test")
        assert answer.status_code == 200, answer.text
        first, second = answer.json()["results"]
        assert first == {"channel_index": 0, "type": "webhook", "ok": True, "error": None, "status_code": None,
                         "reason": None}
        assert second["ok"] is False and second["reason"] == "blocked_address"
        assert [r.path for r in allowed.requests] == ["/hook"] and internal.requests == []
        assert await system.storage.alerts.find(organization_id="org-a") == []
        assert (await client("org-a", role=Role.VIEWER).post(
            f"/api/v1/configs/{config['id']}/rules/{rule_id}/test")).status_code == 403
        empty = (await api.post("/api/v1/configs", json=body("Quiet", "https://q.example.test/", paused=True,
                                                             alert_rules=[{"name": "none"}]))).json()
        refused = await api.post(f"/api/v1/configs/{empty['id']}/rules/{empty['alert_rules'][0]['id']}/test")
        assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "notification_channels"
