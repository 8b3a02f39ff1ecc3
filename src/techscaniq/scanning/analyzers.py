"""Which analysis steps a scan runs, in order: technologies, then performance, then security
(security reads the detected library versions to match advisories)."""

from __future__ import annotations

from dataclasses import dataclass

from techscaniq.scanning.analysis import Analyzer
from techscaniq.scanning.browser import BrowserRenderer
from techscaniq.scanning.fingerprints.analyzer import DisabledHandler, TechnologyAnalyzer
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.scanning.performance.analyzer import PerformanceAnalyzer
from techscaniq.scanning.security.advisories import AdvisoryStore
from techscaniq.scanning.security.analyzer import SecurityAnalyzer
from techscaniq.scanning.security.tls_rater import TLSRater
from techscaniq.settings import Settings


@dataclass(frozen=True)
class AnalysisSteps:
    technology: TechnologyAnalyzer  # also what re-detects old scans after a fingerprint update
    performance: PerformanceAnalyzer
    security: SecurityAnalyzer

    def ordered(self) -> list[Analyzer]:
        return [self.technology, self.performance, self.security]


def build_analysis(settings: Settings, fingerprints: FingerprintRegistry | None = None,
                   on_disabled: DisabledHandler | None = None) -> AnalysisSteps:
    registry = fingerprints or FingerprintRegistry(settings)
    # Browser mode renders each page once; technologies (js/dom/xhr) and performance (web vitals) share it.
    renderer = BrowserRenderer(executable_path=settings.browser_executable,
                               policy=settings.scan_address_policy,
                               concurrency=settings.browser_concurrency, extra_ca_bundle=settings.extra_ca_bundle)
    return AnalysisSteps(
        technology=TechnologyAnalyzer.from_settings(registry, settings, renderer, on_disabled),
        performance=PerformanceAnalyzer(renderer=renderer),
        security=SecurityAnalyzer(AdvisoryStore(settings.data_dir), tls_rater=TLSRater(
            settings.scan_address_policy, ca_file=str(settings.extra_ca_bundle) if settings.extra_ca_bundle else None,
            cache_seconds=settings.tls_rating_cache_hours * 3600), probe_cache_seconds=settings.probe_cache_seconds),
    )


def build_analyzers(settings: Settings, fingerprints: FingerprintRegistry | None = None,
                    on_disabled: DisabledHandler | None = None) -> list[Analyzer]:
    """The steps in the order a scan runs them."""
    return build_analysis(settings, fingerprints, on_disabled).ordered()
