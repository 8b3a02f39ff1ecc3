"""An embedded system with two organizations and the API app called in-process (httpx ASGI transport).

`seeded` stores, for organization A, what the pipeline would have stored: a config with an alert rule
(its webhook URL is a secret), two scans (with a response body), metric points, a change, an alert
with a delivery and a silence. Organization B has one config of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from techscaniq.alerts.silences import Silence
from techscaniq.alerts.steps.group import change_summary
from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.domain.alert import Alert, Delivery, DeliveryStatus
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.performance import PerformanceReport
from techscaniq.domain.scan import ResponseSnapshot, ScanResult
from techscaniq.domain.security import SecurityFinding, SecurityReport
from techscaniq.domain.technology import Detection
from techscaniq.settings import Settings
from techscaniq.storage.protocols import MetricPoint
from techscaniq.system import MonitoringSystem

KEY_A = "key-a-0123456789abcdef"
KEY_B = "key-b-0123456789abcdef"
WEBHOOK_SECRET_URL = "https://hooks.example.test/services/T000/B000/very-secret-path"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

Client = Callable[..., httpx.AsyncClient]


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": f"org-a:{KEY_A},org-b:{KEY_B}"})


@pytest.fixture
async def system(api_settings: Settings) -> AsyncIterator[MonitoringSystem]:
    async with MonitoringSystem(api_settings, serve_http=False, configure_logs=False) as running:
        yield running


@pytest.fixture
async def http(system: MonitoringSystem) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app without credentials: what a browser sends (cookies kept between requests)."""
    transport = httpx.ASGITransport(app=create_app(system))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


@pytest.fixture
async def client(system: MonitoringSystem) -> AsyncIterator[Client]:
    """`client(org="org-a", role=Role.ADMIN)` or `client(headers={...})`: an httpx client on the app."""
    app = create_app(system)
    opened: list[httpx.AsyncClient] = []

    def make(org: str | None = "org-a", role: Role = Role.ADMIN, headers: dict[str, str] | None = None,
             app_override: Any = None) -> httpx.AsyncClient:
        if headers is None:
            headers = {"Authorization": f"Bearer {create_token(system.settings, org, role)}"} if org else {}
        transport = httpx.ASGITransport(app=app_override or app)
        opened.append(http := httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers))
        return http

    yield make
    for http in opened:
        await http.aclose()


@dataclass
class Seeded:
    config_id: str
    other_config_id: str
    rule_id: str
    scan_ids: list[str]
    change_id: str
    alert_id: str
    delivery_id: str
    silence_id: str


def config_body(name: str, url: str = "http://127.0.0.1:9/", **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": url, "paused": True,
            "schedule": {"type": "interval", "expression": "1h", "timezone": "UTC"}, **extra}


def scan_of(config_id: str, org: str, at: datetime, technologies: list[Detection], ttfb: float,
            grade: str = "B") -> ScanResult:
    return ScanResult(
        config_id=config_id, organization_id=org, url="http://127.0.0.1:9/", started_at=at,
        finished_at=at + timedelta(seconds=1), duration_ms=1000.0,
        response=ResponseSnapshot(final_url="http://127.0.0.1:9/", status_code=200, headers=[("server", "nginx")]),
        technologies=technologies,
        performance=PerformanceReport(metrics={"ttfb_ms": ttfb, "load_time_ms": ttfb * 2}),
        security=SecurityReport(score=70, grade=grade, tests_passed=8, tests_failed=2, findings=[
            SecurityFinding(test="strict-transport-security", result="hsts-not-implemented", modifier=-20,
                            passed=False, description="HSTS header missing")]),
    )


@pytest.fixture
async def seeded(system: MonitoringSystem) -> Seeded:
    rule = {"id": "rule-1", "name": "Anything", "notification_channels": [
        {"type": "webhook", "url": WEBHOOK_SECRET_URL, "headers": {"X-Token": "header-secret-value"}}]}
    config_id = await system.add_monitoring_config(
        {**config_body("Site A"), "organization_id": "org-a", "alert_rules": [rule]})
    other_config_id = await system.add_monitoring_config({**config_body("Site B"), "organization_id": "org-b"})
    first = scan_of(config_id, "org-a", T0, [Detection(name="nginx", version="1.24"), Detection(name="jQuery",
                                                                                                version="3.6.0")], 80)
    second = scan_of(config_id, "org-a", T0 + timedelta(hours=1),
                     [Detection(name="nginx", version="1.25"), Detection(name="React", version="18.2.0")], 120, "A")
    for scan in (first, second):
        await system.storage.scans.add(scan, body=b"<html><script>alert(1)</script></html>")
        await system.storage.metrics.add([
            MetricPoint("org-a", config_id, scan.id, name, value, scan.started_at)
            for name, value in (scan.performance.metrics.items() if scan.performance else [])])
    change = Change(organization_id="org-a", config_id=config_id, scan_id=second.id, previous_scan_id=first.id,
                    type=ChangeKind.TECHNOLOGY, change_type="removed", subject="jQuery", before="3.6.0",
                    impact=Impact.MEDIUM, detected_at=second.started_at)
    await system.storage.changes.add_many([change])
    alert = Alert(organization_id="org-a", config_id=config_id, rule_id="rule-1", rule_name="Anything",
                  severity=Impact.MEDIUM, dedupe_key="k", title="jQuery removed", change_ids=[change.id],
                  changes=[change_summary(change)],
                  scan_id=second.id, triggered_at=second.started_at)
    await system.storage.alerts.add(alert)
    delivery = Delivery(alert_id=alert.id, organization_id="org-a", config_id=config_id, rule_id="rule-1",
                        channel_index=0, channel_type="webhook", status=DeliveryStatus.FAILED, attempts=1,
                        last_error=f"ConnectError: cannot reach {WEBHOOK_SECRET_URL}",
                        log=[{"attempt": 1, "at": T0.isoformat(), "error": f"failed {WEBHOOK_SECRET_URL}",
                              "outcome": "failed", "request_headers": {"X-Token": "header-secret-value"}}])
    await system.storage.deliveries.add_many([delivery])
    silence = Silence(organization_id="org-a", config_id=config_id, starts_at=T0, ends_at=T0 + timedelta(days=1))
    await system.alert_engine.silences.add(silence)
    return Seeded(config_id, other_config_id, "rule-1", [first.id, second.id], change.id, alert.id, delivery.id,
                  silence.id)


Check = Callable[[], Awaitable[bool]]
