"""What one tenant may ask of the service: schedules no shorter than MIN_SCAN_INTERVAL_SECONDS, config ids
that work in a URL, and no answer that tells one organization what another has stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tests.support.databases import fresh_database
from tests.support.services import service_url
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

MINIMUM = 60.0


def config(every: str = "5m", **fields: Any) -> dict[str, Any]:
    return {"name": "site", "url": "https://example.com",
            "schedule": {"type": "interval", "expression": every}, **fields}


@pytest.fixture(params=["sqlite", "postgresql"])
async def system(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[MonitoringSystem]:
    settings = settings.model_copy(update={"min_scan_interval_seconds": MINIMUM})
    if request.param == "postgresql":
        async with fresh_database(service_url("DATABASE_URL"), "tenant_input") as database_url:
            pg = settings.model_copy(update={"database_url": database_url, "jwt_secret_key": SecretStr("x" * 40)})
            async with MonitoringSystem(pg, serve_http=False, configure_logs=False) as running:
                yield running
    else:
        async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as running:
            yield running


def client(system: MonitoringSystem, organization: str = "org-a") -> httpx.AsyncClient:
    token = create_token(system.settings, organization, Role.ADMIN)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(system)), base_url="http://api.test",
                             headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def api(system: MonitoringSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with client(system) as org_a:
        yield org_a


def refused(response: httpx.Response) -> dict[str, str]:
    """field -> message of a 422."""
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert response.json()["error"] == "validation_error"
    return {item["field"]: item["message"] for item in response.json()["detail"]}


# ---- minimum scan interval ---------------------------------------------------------------------


def test_the_product_default_minimum_is_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIN_SCAN_INTERVAL_SECONDS")
    assert Settings(_env_file=None).min_scan_interval_seconds == 60  # type: ignore[call-arg]


@pytest.mark.parametrize(("every", "said"), [("1ms", "0.001 s"), ("5s", "5 s"), ("59s", "59 s")])
async def test_an_interval_below_the_minimum_is_refused_naming_the_schedule(
    api: httpx.AsyncClient, every: str, said: str
) -> None:
    problems = refused(await api.post("/api/v1/configs", json=config(every)))
    assert list(problems) == ["schedule"]
    assert f"interval {said} is below the minimum scan interval of 60 s (MIN_SCAN_INTERVAL_SECONDS)" \
        in problems["schedule"]
    assert (await api.get("/api/v1/configs")).json() == []
    assert (await api.post("/api/v1/configs", json=config("1m"))).status_code == 201


async def test_a_cron_firing_more_often_than_the_minimum_is_refused(settings: Settings) -> None:
    strict = settings.model_copy(update={"min_scan_interval_seconds": 600})
    async with MonitoringSystem(strict, serve_http=False, configure_logs=False) as system, client(system) as api:
        for expression in ("* * * * *", "*/5 * * * *", "0,1 * * * *"):
            cron = config(schedule={"type": "cron", "expression": expression})
            assert "below the minimum scan interval of 600 s" in refused(
                await api.post("/api/v1/configs", json=cron))["schedule"], expression
        for expression in ("*/10 * * * *", "@hourly", "0 9 * * 1-5"):
            cron = config(schedule={"type": "cron", "expression": expression})
            assert (await api.post("/api/v1/configs", json=cron)).status_code == 201, expression


async def test_updates_and_imports_are_held_to_the_minimum(api: httpx.AsyncClient) -> None:
    config_id = (await api.post("/api/v1/configs", json=config())).json()["id"]
    fast = {"type": "interval", "expression": "5s"}
    assert "minimum scan interval" in refused(
        await api.patch(f"/api/v1/configs/{config_id}", json={"schedule": fast}))["schedule"]
    imported = await api.post("/api/v1/configs/import", json={"configs": [config("5s", name="fast")]})
    assert imported.status_code == 200, imported.text
    outcome = imported.json()
    assert outcome["created"] == []
    assert [item["field"] for item in outcome["errors"][0]["detail"]] == ["schedule"]
    listed = (await api.get("/api/v1/configs")).json()
    assert [(c["name"], c["schedule"]["expression"]) for c in listed] == [("site", "5m")]


async def test_a_config_stored_before_the_minimum_loads_and_runs_no_more_often(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body="<html><body>ok</body></html>")
    async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as before:  # no minimum
        config_id = await before.add_monitoring_config(
            {**config("1s"), "organization_id": "org-a", "url": local_site.url("/"), "paused": True})
    raised = settings.model_copy(update={"min_scan_interval_seconds": MINIMUM})
    async with MonitoringSystem(raised, serve_http=False, configure_logs=False) as system, client(system) as api:
        stored = await api.get(f"/api/v1/configs/{config_id}")
        assert stored.status_code == 200 and stored.json()["schedule"]["expression"] == "1s"
        renamed = await api.patch(f"/api/v1/configs/{config_id}", json={"name": "renamed"})
        assert renamed.status_code == 200, renamed.text  # its schedule is not changed, so it may stay
        assert (await api.post(f"/api/v1/configs/{config_id}/resume")).status_code == 200

        async def scanned() -> bool:
            return len(await system.storage.scans.find(config_id=config_id)) >= 1 and \
                (await system.next_run_at(config_id) or system.clock()) > system.clock() + timedelta(seconds=30)

        await eventually(scanned, within=15)
        [scan] = await system.storage.scans.find(config_id=config_id)
        next_run = await system.next_run_at(config_id)
        assert scan.scheduled_for is not None and next_run is not None
        assert next_run - scan.scheduled_for >= timedelta(seconds=MINIMUM - 1)  # not 1 s later


# ---- ids that work in a URL ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a/b", "../x", "a b", "a?b", "a#b", "a%2Fb", ".hidden", "-x", "x" * 129, "é"])
async def test_config_rule_and_silence_ids_outside_the_safe_charset_are_refused(
    api: httpx.AsyncClient, bad: str
) -> None:
    assert list(refused(await api.post("/api/v1/configs", json=config(id=bad)))) == ["id"]
    imported = (await api.post("/api/v1/configs/import", json=[config(id=bad)])).json()
    assert imported["created"] == [] and imported["errors"][0]["detail"][0]["field"] == "id"
    assert (await api.get("/api/v1/configs")).json() == []

    config_id = (await api.post("/api/v1/configs", json=config(id="Site_1.a-b"))).json()["id"]
    assert config_id == "Site_1.a-b" and (await api.get(f"/api/v1/configs/{config_id}")).status_code == 200
    rule = {"id": bad, "name": "rule"}
    assert list(refused(await api.post(f"/api/v1/configs/{config_id}/rules", json=rule))) == ["id"]
    with_rule = config(alert_rules=[rule])
    assert list(refused(await api.patch(f"/api/v1/configs/{config_id}", json=with_rule))) == ["alert_rules.0.id"]
    silence = {"id": bad, "ends_at": "2099-01-01T00:00:00Z"}
    assert list(refused(await api.post("/api/v1/silences", json=silence))) == ["id"]
    assert (await api.get("/api/v1/silences")).json() == []


async def test_ids_stored_before_the_rule_still_load_and_can_be_changed_and_deleted(system: MonitoringSystem) -> None:
    from techscaniq.domain.config import MonitoringConfig

    legacy = MonitoringConfig.model_validate(
        {**config(id="team/site", alert_rules=[{"id": "r/1", "name": "rule"}]), "organization_id": "org-a"},
        context={"stored": True})
    await system.storage.configs.add(legacy, next_run_at=None)
    loaded = await system.get_monitoring_config("team/site", "org-a")
    assert loaded.rule("r/1") is not None
    paused = await system.pause_monitoring_config("team/site", "org-a")  # unchanged ids may stay
    assert paused.paused and paused.rule("r/1") is not None
    await system.remove_monitoring_config("team/site", "org-a")
    assert await system.storage.configs.get("team/site") is None


# ---- no answer about another organization ----------------------------------------------------------


async def test_a_silence_naming_another_organizations_config_is_the_same_404_as_no_such_config(
    system: MonitoringSystem,
) -> None:
    async with client(system, "org-a") as org_a, client(system, "org-b") as org_b:
        theirs = (await org_a.post("/api/v1/configs", json=config())).json()["id"]
        window = {"ends_at": "2099-01-01T00:00:00Z"}
        foreign = await org_b.post("/api/v1/silences", json={**window, "config_id": theirs})
        missing = await org_b.post("/api/v1/silences", json={**window, "config_id": "no-such-config"})
        assert foreign.status_code == missing.status_code == 404, foreign.text
        assert foreign.json()["detail"].replace(theirs, "X") == missing.json()["detail"].replace("no-such-config", "X")
        assert (await org_b.get("/api/v1/silences")).json() == []
        assert (await org_a.get("/api/v1/silences")).json() == []


async def test_every_route_on_another_organizations_config_is_the_same_404_as_no_such_config(
    system: MonitoringSystem,
) -> None:
    async with client(system, "org-a") as org_a, client(system, "org-b") as org_b:
        theirs = (await org_a.post("/api/v1/configs", json=config(id="their-site"))).json()["id"]
        for method, path, body in [
            ("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None), ("POST", "/pause", None),
            ("POST", "/scan", None), ("GET", "/rules", None), ("POST", "/rules", {"name": "r"}),
        ]:
            foreign = await org_b.request(method, f"/api/v1/configs/{theirs}{path}", json=body)
            missing = await org_b.request(method, f"/api/v1/configs/no-such-site{path}", json=body)
            assert foreign.status_code == missing.status_code == 404, (method, path, foreign.text)
            assert foreign.json()["error"] == "not_found", (method, path)  # the route's answer, not a missing route
            assert foreign.json()["detail"].replace(theirs, "X") == \
                missing.json()["detail"].replace("no-such-site", "X"), (method, path)
        assert (await org_a.get(f"/api/v1/configs/{theirs}")).json()["name"] == "site"
