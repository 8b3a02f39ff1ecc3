"""One scan of one URL: fetch the page once, then run each enabled analysis step in order.

The scan itself never raises for anything a site or an analyzer does. A failed fetch makes a failed
scan with the fetch's error; an analyzer that raises or runs too long is recorded in
`analysis_errors` and the other steps still run. An HTTP 5xx answer is a successful fetch: judging
availability is the change detector's job, and it needs the status code to do it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from techscaniq.domain.common import new_id, utcnow
from techscaniq.domain.config import MonitoringConfig, ScanConfig
from techscaniq.domain.fetch import FetchErrorCode, FetchResult
from techscaniq.domain.scan import ResponseSnapshot, ScanResult, ScanStatus, ScanTrigger
from techscaniq.observability.metrics import SCAN_DURATION, SCANS, SCANS_FAILED, SCANS_IN_FLIGHT
from techscaniq.scanning.analysis import Analyzer, ScanContext
from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings

log = logging.getLogger(__name__)

CLI_ORGANIZATION = "cli"
# Steps that still run when the fetch failed for these reasons: a rejected certificate is exactly
# what security grading must report, and the fetcher still read its facts.
_RUN_DESPITE_FAILURE = {"security": {FetchErrorCode.TLS}}


class Scanner:
    """Runs scans. `analyzers` run in the given order (technologies, performance, security)."""

    def __init__(
        self,
        settings: Settings,
        analyzers: Sequence[Analyzer],
        fetcher: Fetcher | None = None,
        *,
        analyzer_time_limit: float = 120.0,
    ) -> None:
        self._settings = settings
        self._analyzers = list(analyzers)
        self._owns_fetcher = fetcher is None
        self.fetcher = fetcher or Fetcher(settings)
        # An analyzer's own fetches are bounded by the fetcher; this bounds everything else it might do.
        self._analyzer_time_limit = analyzer_time_limit

    async def aclose(self) -> None:
        if self._owns_fetcher:
            await self.fetcher.aclose()

    async def scan(
        self,
        config: MonitoringConfig,
        *,
        trigger: ScanTrigger = ScanTrigger.SCHEDULE,
        scheduled_for: datetime | None = None,
        scan_id: str | None = None,
    ) -> tuple[ScanResult, bytes]:
        """Scan a monitoring config. Returns the result and the page body (stored separately)."""
        result = ScanResult(
            id=scan_id or new_id(),
            config_id=config.id,
            organization_id=config.organization_id,
            url=config.url,
            trigger=trigger,
            scheduled_for=scheduled_for,
        )
        fetch = await self._run(result, config.scan_config)
        return result, fetch.body

    async def scan_url(self, url: str, scan_config: ScanConfig | None = None,
                       on_step: Callable[[str], None] | None = None) -> ScanResult:
        """One scan of a bare URL, outside any monitoring config (the `techscaniq scan URL` command). `on_step`
        hears each step as it starts ("fetch", then each analyzer's name): the command's progress line."""
        result = ScanResult(config_id=CLI_ORGANIZATION, organization_id=CLI_ORGANIZATION, url=url,
                            trigger=ScanTrigger.MANUAL)
        await self._run(result, scan_config or ScanConfig(), on_step)
        return result

    def steps(self, scan_config: ScanConfig) -> list[str]:
        """The steps a scan with `scan_config` runs, in order (when the fetch succeeds)."""
        return ["fetch", *(a.name for a in self._analyzers if a.enabled(scan_config))]

    async def _run(self, result: ScanResult, scan_config: ScanConfig,
                   on_step: Callable[[str], None] | None = None) -> FetchResult:
        started = time.perf_counter()
        SCANS_IN_FLIGHT.inc()
        step = on_step or _quiet
        try:
            step("fetch")
            fetch = await self.fetcher.fetch(result.url, timeout=scan_config.timeout_seconds)
            result.response = ResponseSnapshot.of(fetch)
            if fetch.error is not None:
                result.status = ScanStatus.FAILED
                result.error = fetch.error
            context = ScanContext(
                url=result.url,
                scan_config=scan_config,
                fetch=fetch,
                result=result,
                fetcher=self.fetcher,
                organization_id=result.organization_id,
                html_max_depth=self._settings.html_max_depth,
            )
            for analyzer in self._analyzers:
                if analyzer.enabled(scan_config) and _runs_on(analyzer, fetch):
                    step(analyzer.name)
                    await self._analyze(analyzer, context)
            return fetch
        finally:
            SCANS_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            result.finished_at = utcnow()
            result.duration_ms = round(elapsed * 1000, 3)
            SCANS.labels(status=result.status.value).inc()
            if result.error is not None:
                SCANS_FAILED.labels(reason=result.error.code.value).inc()
            SCAN_DURATION.observe(elapsed)

    async def _analyze(self, analyzer: Analyzer, context: ScanContext) -> None:
        try:
            async with asyncio.timeout(self._analyzer_time_limit):
                await analyzer.analyze(context)
        except TimeoutError:
            reason = f"did not finish within {self._analyzer_time_limit:g} s"
            context.result.analysis_errors[analyzer.name] = reason
            log.warning("analyzer %s %s on %s", analyzer.name, reason, context.url)
        except Exception as exc:  # one broken step must not cost the scan the other steps' results
            context.result.analysis_errors[analyzer.name] = f"{type(exc).__name__}: {exc}"
            log.exception("analyzer %s failed on %s", analyzer.name, context.url)


def _quiet(_step: str) -> None:
    """No one listening to the steps (every scan but the CLI's)."""


def _runs_on(analyzer: Analyzer, fetch: FetchResult) -> bool:
    return fetch.error is None or fetch.error.code in _RUN_DESPITE_FAILURE.get(analyzer.name, set())
