"""Scanner against real local sites, with small fake analyzers standing in for the real steps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.support.fixtures import SiteFactory
from tests.support.testsite import LocalSite

from techscaniq.domain.config import MonitoringConfig, ScanConfig
from techscaniq.domain.fetch import FetchErrorCode
from techscaniq.domain.scan import ScanStatus, ScanTrigger
from techscaniq.observability.metrics import REGISTRY
from techscaniq.scanning.analysis import Analyzer, ScanContext
from techscaniq.scanning.fetch import Fetcher
from techscaniq.scanning.scanner import Scanner
from techscaniq.settings import Settings


class Recorder:
    """Notes every context it is given; enabled by the scan config flag of the same name."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.contexts: list[ScanContext] = []

    def enabled(self, scan_config: ScanConfig) -> bool:
        return bool(getattr(scan_config, self.name, True))

    async def analyze(self, ctx: ScanContext) -> None:
        self.log.append(self.name)
        self.contexts.append(ctx)


class Exploding(Recorder):
    async def analyze(self, ctx: ScanContext) -> None:
        await super().analyze(ctx)
        raise RuntimeError("fingerprint database is corrupt")


class Sleepy(Recorder):
    async def analyze(self, ctx: ScanContext) -> None:
        await super().analyze(ctx)
        await asyncio.sleep(5)


def config_for(url: str, **scan_config: object) -> MonitoringConfig:
    return MonitoringConfig(
        organization_id="org-1", name="site", url=url, schedule={"type": "interval", "expression": "5m"},
        scan_config=ScanConfig(**scan_config),  # type: ignore[arg-type]
    )


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_successful_scan_runs_steps_in_order_and_survives_a_broken_one(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body="<html>hello</html>", headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    log: list[str] = []
    technologies, performance = Recorder("technologies", log), Exploding("performance", log)
    security = Recorder("security", log)
    fetcher = Fetcher(settings)
    scanner = Scanner(settings, [technologies, performance, security], fetcher)
    config = config_for(local_site.url("/"))
    before = (sample("techscaniq_scans_total", status="success"), sample("techscaniq_fetch_bytes_total"),
              sample("techscaniq_scan_duration_seconds_count"), sample("techscaniq_scans_in_flight"))
    due = datetime(2026, 1, 1, tzinfo=UTC)

    result, body = await scanner.scan(config, trigger=ScanTrigger.MANUAL, scheduled_for=due, scan_id="scan-42")

    assert body == b"<html>hello</html>"
    assert (result.id, result.config_id, result.organization_id, result.url) == (
        "scan-42", config.id, "org-1", local_site.url("/"))
    assert result.status is ScanStatus.SUCCESS and result.error is None
    assert result.trigger is ScanTrigger.MANUAL and result.scheduled_for == due
    assert log == ["technologies", "performance", "security"]  # the broken step did not stop the next
    assert result.analysis_errors == {"performance": "RuntimeError: fingerprint database is corrupt"}
    assert result.response is not None and result.response.status_code == 200
    assert [v for k, v in result.response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert result.response.remote_ip == "127.0.0.1"
    context = technologies.contexts[0]
    assert context.result is result and context.fetcher is fetcher and context.organization_id == "org-1"
    assert context.html == "<html>hello</html>" and context.scan_config == config.scan_config
    assert result.finished_at is not None and result.finished_at >= result.started_at
    assert result.duration_ms is not None and result.duration_ms > 0
    after = (sample("techscaniq_scans_total", status="success"), sample("techscaniq_fetch_bytes_total"),
             sample("techscaniq_scan_duration_seconds_count"), sample("techscaniq_scans_in_flight"))
    assert after[0] == before[0] + 1 and after[1] >= before[1] + len(body) and after[2] == before[2] + 1
    assert after[3] == before[3]


async def test_failed_fetch_fails_the_scan_and_skips_the_steps(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", hang=True)
    log: list[str] = []
    scanner = Scanner(settings, [Recorder("technologies", log), Recorder("security", log)])
    before = sample("scans_failed_total", reason="timeout")

    result, body = await scanner.scan(config_for(local_site.url("/"), timeout_seconds=0.3))

    assert result.status is ScanStatus.FAILED and not result.succeeded
    assert result.error is not None and result.error.code is FetchErrorCode.TIMEOUT
    assert body == b"" and log == []
    assert result.duration_ms is not None and result.duration_ms < 1000  # the config's 0.3 s limit applied
    assert sample("scans_failed_total", reason="timeout") == before + 1


async def test_tls_failure_still_runs_the_security_step(tls_settings: Settings, site_factory: SiteFactory) -> None:
    site = await site_factory(tls=True, certificate="expired")
    log: list[str] = []
    security = Recorder("security", log)
    scanner = Scanner(tls_settings, [Recorder("technologies", log), Recorder("performance", log), security])

    result, _ = await scanner.scan(config_for(site.url("/")))

    assert result.status is ScanStatus.FAILED and result.error is not None
    assert result.error.code is FetchErrorCode.TLS and "expired" in result.error.message
    assert log == ["security"]
    tls = security.contexts[0].fetch.tls
    assert tls is not None and not tls.verified and tls.days_to_expiry is not None and tls.days_to_expiry < 0


async def test_server_error_is_a_successful_scan(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", status=500, body="oops")
    log: list[str] = []
    result, body = await Scanner(settings, [Recorder("technologies", log)]).scan(config_for(local_site.url("/")))
    assert result.status is ScanStatus.SUCCESS and result.response is not None
    assert result.response.status_code == 500 and body == b"oops" and log == ["technologies"]


async def test_disabled_steps_do_not_run(settings: Settings, local_site: LocalSite) -> None:
    log: list[str] = []
    analyzers: list[Analyzer] = [Recorder(name, log) for name in ("technologies", "performance", "security")]
    await Scanner(settings, analyzers).scan(config_for(local_site.url("/"), performance=False, security=False))
    assert log == ["technologies"]


async def test_a_step_that_hangs_is_cut_off(settings: Settings, local_site: LocalSite) -> None:
    log: list[str] = []
    scanner = Scanner(settings, [Sleepy("technologies", log), Recorder("security", log)], analyzer_time_limit=0.2)
    result, _ = await scanner.scan(config_for(local_site.url("/")))
    assert result.analysis_errors == {"technologies": "did not finish within 0.2 s"}
    assert log == ["technologies", "security"] and result.status is ScanStatus.SUCCESS
    assert result.duration_ms is not None and result.duration_ms < 1000


async def test_scan_url_for_the_command_line(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body="cli page")
    result = await Scanner(settings, []).scan_url(local_site.url("/"))
    assert result.organization_id == "cli" and result.trigger is ScanTrigger.MANUAL
    assert result.succeeded and result.response is not None and result.response.final_url == local_site.url("/")


async def test_scan_url_with_a_bad_url_fails_cleanly(settings: Settings) -> None:
    result = await Scanner(settings, []).scan_url("gopher://example.com/")
    assert result.status is ScanStatus.FAILED
    assert result.error is not None and result.error.code is FetchErrorCode.INVALID_URL
