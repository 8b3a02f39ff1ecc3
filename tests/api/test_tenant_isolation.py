"""A tenant can never read or change another tenant's data: every route of the API is tried with
organization B's credentials against organization A's ids. The table must cover every route the app
has (a new route without an entry fails the test), and each read is also made by A to show that the
same request does succeed for the owner (so a wrong path cannot pass as "isolated")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from tests.api.conftest import KEY_B, Client, Seeded, config_body

from techscaniq.api.app import create_app
from techscaniq.system import MonitoringSystem


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str  # the route template; {placeholders} are filled with organization A's ids
    expect: str  # "404", "403", "absent" (2xx, and no id of A in the answer), "own" (scoped to the caller)
    body: Any = None


ATTEMPTS = [
    Attempt("GET", "/api/v1/configs", "absent"),
    Attempt("POST", "/api/v1/configs", "403", {**config_body("stolen"), "organization_id": "org-a"}),
    Attempt("GET", "/api/v1/configs/export", "absent"),
    Attempt("POST", "/api/v1/configs/import", "absent", {"configs": [{**config_body("x"), "id": "{config_id}"}]}),
    Attempt("GET", "/api/v1/configs/{config_id}", "404"),
    Attempt("PUT", "/api/v1/configs/{config_id}", "404", {"name": "taken over"}),
    Attempt("PATCH", "/api/v1/configs/{config_id}", "404", {"name": "taken over"}),
    Attempt("DELETE", "/api/v1/configs/{config_id}", "404"),
    Attempt("POST", "/api/v1/configs/{config_id}/pause", "404"),
    Attempt("POST", "/api/v1/configs/{config_id}/resume", "404"),
    Attempt("POST", "/api/v1/configs/{config_id}/scan", "404"),
    Attempt("GET", "/api/v1/configs/{config_id}/rules", "404"),
    Attempt("POST", "/api/v1/configs/{config_id}/rules", "404", {"name": "mine now"}),
    Attempt("GET", "/api/v1/configs/{config_id}/rules/{rule_id}", "404"),
    Attempt("PUT", "/api/v1/configs/{config_id}/rules/{rule_id}", "404", {"name": "mine now"}),
    Attempt("DELETE", "/api/v1/configs/{config_id}/rules/{rule_id}", "404"),
    Attempt("GET", "/api/v1/configs/{config_id}/technologies", "404"),
    Attempt("GET", "/api/v1/configs/{config_id}/metrics", "404"),
    Attempt("GET", "/api/v1/overview", "absent"),
    Attempt("GET", "/api/v1/scans?config_id={config_id}", "absent"),
    Attempt("GET", "/api/v1/scans/{scan_id}", "404"),
    Attempt("GET", "/api/v1/scans/{scan_id}/body", "404"),
    Attempt("GET", "/api/v1/changes?config_id={config_id}", "absent"),
    Attempt("GET", "/api/v1/changes/{change_id}", "404"),
    Attempt("POST", "/api/v1/changes/{change_id}/false-positive", "404"),
    Attempt("DELETE", "/api/v1/changes/{change_id}/false-positive", "404"),
    Attempt("GET", "/api/v1/alerts?config_id={config_id}", "absent"),
    Attempt("GET", "/api/v1/alerts/{alert_id}", "404"),
    Attempt("POST", "/api/v1/alerts/{alert_id}/acknowledge", "404"),
    Attempt("POST", "/api/v1/alerts/{alert_id}/resolve", "404"),
    Attempt("GET", "/api/v1/alerts/{alert_id}/deliveries", "404"),
    Attempt("GET", "/api/v1/silences", "absent"),
    Attempt("POST", "/api/v1/silences", "404", {"config_id": "{config_id}", "ends_at": "2030-01-01T00:00:00Z"}),
    Attempt("DELETE", "/api/v1/silences/{silence_id}", "404"),
    # These name no resource: they act on the caller's own organization only.
    Attempt("PUT", "/api/v1/fingerprints/custom", "own", {"Acme": {"headers": {"X-Acme": ""}}}),
    Attempt("DELETE", "/api/v1/fingerprints/custom", "own"),
    Attempt("GET", "/api/v1/auth/me", "own"),
    Attempt("GET", "/api/v1/search?q=site&kind=sites", "absent"),
    Attempt("GET", "/api/v1/search/facets", "own"),
    Attempt("POST", "/api/v1/auth/token", "own", {"api_key": KEY_B}),
]
NO_TENANT_DATA = {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"), ("GET", "/"), ("GET", "/docs"),
                  ("GET", "/docs/init.js"), ("GET", "/redoc"), ("GET", "/redoc/init.js")}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


def _ids(seeded: Seeded) -> dict[str, str]:
    return {"config_id": seeded.config_id, "rule_id": seeded.rule_id, "scan_id": seeded.scan_ids[-1],
            "change_id": seeded.change_id, "alert_id": seeded.alert_id, "silence_id": seeded.silence_id}


def test_the_table_covers_every_route(system: MonitoringSystem) -> None:
    app = create_app(system)
    routes = {(method, route.path) for route in app.routes if isinstance(route, APIRoute) for method in route.methods}
    covered = {(a.method, a.path.split("?")[0]) for a in ATTEMPTS} | NO_TENANT_DATA
    assert routes - covered == set(), "routes without a tenant-isolation attempt"


async def test_another_organization_can_neither_read_nor_change_anything(
    system: MonitoringSystem, seeded: Seeded, client: Client
) -> None:
    ids = _ids(seeded)
    intruder = client("org-b")
    for attempt in ATTEMPTS:
        url = _fill(attempt.path, ids)
        response = await intruder.request(attempt.method, url, json=_fill(attempt.body, ids))
        where = f"{attempt.method} {url}: {response.status_code} {response.text[:300]}"
        if attempt.expect == "404":
            assert response.status_code == 404, where
        elif attempt.expect == "403":
            assert response.status_code == 403, where
        elif attempt.expect == "absent":
            assert response.status_code < 300, where
            assert not any(value in response.text for value in ids.values()), where
        else:
            assert response.status_code < 300, where

    # Organization A's data is exactly as it was.
    owner = client("org-a")
    config = (await owner.get(f"/api/v1/configs/{seeded.config_id}")).json()
    assert config["name"] == "Site A" and config["paused"] is True
    assert [rule["id"] for rule in config["alert_rules"]] == ["rule-1"]
    assert (await owner.get(f"/api/v1/changes/{seeded.change_id}")).json()["false_positive"] is False
    assert (await owner.get(f"/api/v1/alerts/{seeded.alert_id}")).json()["status"] == "triggered"
    assert [s["id"] for s in (await owner.get("/api/v1/silences")).json()] == [seeded.silence_id]
    assert len((await owner.get("/api/v1/scans", params={"config_id": seeded.config_id})).json()) == 2
    assert await system.storage.configs.count("org-a") == 1


async def test_the_owner_gets_what_the_intruder_was_refused(seeded: Seeded, client: Client) -> None:
    ids = _ids(seeded)
    owner = client("org-a")
    for attempt in ATTEMPTS:
        if attempt.method != "GET":
            continue
        url = _fill(attempt.path, ids)
        response = await owner.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
        if attempt.expect == "absent" and "silences" not in url:
            assert seeded.config_id in response.text, url
