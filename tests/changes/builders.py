"""A site whose state tests change between scans, producing the ScanResults the scanner would.

Scans are built directly (the scanner is tested on its own against real local sites); every field
change detection reads is set as the scanner sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from techscaniq.changes import ChangeDetector, DetectionPolicy
from techscaniq.changes.baseline import empty
from techscaniq.changes.detector import judge
from techscaniq.domain.change import Change
from techscaniq.domain.config import MonitoringConfig, ScanConfig, Schedule, ScheduleType
from techscaniq.domain.fetch import FetchError, FetchErrorCode, TLSInfo
from techscaniq.domain.performance import PerformanceReport
from techscaniq.domain.scan import ResponseSnapshot, ScanResult, ScanStatus
from techscaniq.domain.security import SecurityFinding, SecurityReport
from techscaniq.domain.technology import Detection, Evidence
from techscaniq.storage.sql import SqlStorage

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HSTS = "max-age=31536000; includeSubDomains"
CSP = "default-src 'self'; script-src 'self' 'nonce-abc123'; object-src 'none'"


def make_config(id: str = "cfg-shop", **scan_config: object) -> MonitoringConfig:
    thresholds = {"load_time": 20, "ttfb": 25}
    return MonitoringConfig(
        id=id,
        organization_id="org-1",
        name="Shop",
        url="https://shop.example.test/",
        schedule=Schedule(type=ScheduleType.INTERVAL, expression="1h"),
        scan_config=ScanConfig.model_validate({"performance_thresholds": thresholds, **scan_config}),
    )


def tech(name: str, version: str | None = None, confidence: int = 100, categories: tuple[str, ...] = ()) -> Detection:
    return Detection(
        name=name,
        version=version,
        confidence=confidence,
        categories=list(categories),
        evidence=[Evidence(source="scriptSrc", pattern=f"{name.lower()}[.-]([\\d.]+)\\.js\\;version:\\1",
                           matched=f"/static/{name.lower()}-{version or ''}.js", version=version,
                           confidence=confidence)],
    )


def certificate(serial: str = "01", issuer: str = "Example CA", days: float = 80, at: datetime = START) -> TLSInfo:
    return TLSInfo(
        protocol="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", subject="CN=shop.example.test", issuer=f"CN={issuer}",
        issuer_organization=issuer, sans=["shop.example.test"], serial_number=serial,
        fingerprint_sha256=f"sha256-{serial}-{issuer}", not_before=at - timedelta(days=10),
        not_after=at + timedelta(days=days), verified=True, hostname_match=True,
    )


@dataclass
class Site:
    """The site as it is now. Change attributes, then call scan() for the next hourly scan."""

    technologies: dict[str, Detection] = field(default_factory=lambda: {
        "WordPress": tech("WordPress", "6.4.2", categories=("CMS", "Blogs")),
        "Nginx": tech("Nginx", None, categories=("Web servers", "Reverse proxies")),
        "jQuery": tech("jQuery", "3.6.0", categories=("JavaScript libraries",)),
    })
    headers: dict[str, str] = field(default_factory=lambda: {
        "Content-Type": "text/html", "Strict-Transport-Security": HSTS, "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    })
    status_code: int = 200
    down: bool = False
    final_url: str = "https://shop.example.test/"
    metrics: dict[str, float] = field(default_factory=lambda: {
        "load_time_ms": 1000.0, "ttfb_ms": 200.0, "transfer_bytes": 50_000.0,
    })
    grade: str = "A"
    score: int = 90
    findings: list[SecurityFinding] = field(default_factory=list)
    tls: TLSInfo = field(default_factory=certificate)
    fingerprint_version: str = "2026.02"
    config_id: str = "cfg-shop"
    scans: int = 0

    def scan(self) -> ScanResult:
        started = START + timedelta(hours=self.scans)
        self.scans += 1
        common = {"config_id": self.config_id, "organization_id": "org-1", "url": "https://shop.example.test/",
                  "started_at": started, "finished_at": started + timedelta(seconds=2),
                  "fingerprint_version": self.fingerprint_version}
        if self.down:
            return ScanResult(**common, status=ScanStatus.FAILED,  # type: ignore[arg-type]
                              error=FetchError(code=FetchErrorCode.CONNECTION, message="connection refused"))
        return ScanResult(
            **common,  # type: ignore[arg-type]
            response=ResponseSnapshot(final_url=self.final_url, status_code=self.status_code, http_version="HTTP/1.1",
                                      headers=list(self.headers.items())),
            technologies=[detection.model_copy(deep=True) for detection in self.technologies.values()],
            performance=PerformanceReport(metrics=dict(self.metrics)),
            security=SecurityReport(score=self.score, grade=self.grade, findings=list(self.findings),
                                    tls=self.tls.model_copy()),
        )


class Timeline:
    """Scans a Site, stores the scan (with its body, for re-analysis) and runs change detection on it."""

    def __init__(self, storage: SqlStorage, detector: ChangeDetector, config: MonitoringConfig) -> None:
        self.storage, self.detector, self.config = storage, detector, config
        self.scans: list[ScanResult] = []

    async def step(self, site: Site) -> set[tuple[str, str, str, str]]:
        return summary(await self.step_changes(site))

    async def step_changes(self, site: Site) -> list[Change]:
        scan = site.scan().model_copy(update={"config_id": self.config.id})
        body = " ".join(sorted(site.technologies)).encode()
        await self.storage.scans.add(scan, body=body)
        self.scans.append(scan)
        return await self.detector.handle_scan(scan, self.config)


def summary(changes: list[Change]) -> set[tuple[str, str, str, str]]:
    return {(c.type.value, c.change_type, c.subject, c.impact.value) for c in changes}



class Replay:
    """The pure core, scan after scan, with the history kept in a baseline (no storage), as the stage
    keeps it in its row."""

    def __init__(self, config: MonitoringConfig | None = None, policy: DetectionPolicy | None = None) -> None:
        self.config, self.policy = config or make_config(), policy or DetectionPolicy()
        self.scans: list[ScanResult] = []
        self.baseline = empty(self.config.id, self.policy)

    def step(self, site: Site) -> set[tuple[str, str, str, str]]:
        return summary(self.step_changes(site))

    def step_changes(self, site: Site) -> list[Change]:
        return self.judge(site.scan())

    def judge(self, scan: ScanResult) -> list[Change]:
        changes, self.baseline = judge(scan, self.baseline, self.config, self.policy)
        self.scans.append(scan)
        return changes
