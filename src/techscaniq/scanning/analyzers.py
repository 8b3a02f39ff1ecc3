"""Which analysis steps a scan runs, in order: technologies, then performance, then security
(security reads the detected library versions to match advisories)."""

from __future__ import annotations

from techscaniq.scanning.analysis import Analyzer
from techscaniq.scanning.fingerprints.analyzer import TechnologyAnalyzer
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.scanning.performance.analyzer import PerformanceAnalyzer
from techscaniq.scanning.security.advisories import AdvisoryStore
from techscaniq.scanning.security.analyzer import SecurityAnalyzer
from techscaniq.settings import Settings


def build_analyzers(settings: Settings, fingerprints: FingerprintRegistry | None = None) -> list[Analyzer]:
    registry = fingerprints or FingerprintRegistry(settings)
    return [
        TechnologyAnalyzer.from_settings(registry, settings),
        PerformanceAnalyzer(allow_private_targets=settings.allow_private_targets),
        SecurityAnalyzer(AdvisoryStore(settings.data_dir)),
    ]
