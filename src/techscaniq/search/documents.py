"""What the search index holds: the current state of each site, and every change and alert.

Documents are derived data built from the database (config + latest scan + changes + alerts); the index can
be dropped and rebuilt from it at any time. Comparable values (versions, grades) carry a sortable key."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from techscaniq.domain.alert import Alert
from techscaniq.domain.availability import answer_is_page
from techscaniq.domain.change import Change
from techscaniq.domain.common import Impact
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.versions import sort_key

# Best first, as the grading assigns them (scanning/security/grading.py).
GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")
SITE_STATUSES = ("up", "down", "paused", "unknown")


def grade_rank(grade: str | None) -> int | None:
    """Higher is better: A+ is 12, F is 0."""
    if grade is None or grade.upper() not in GRADES:
        return None
    return len(GRADES) - 1 - GRADES.index(grade.upper())


def version_key(version: str | None) -> str | None:
    """A string that sorts like the version, by the project's one version ordering (versions.py): pre-releases
    before their release, '6.4.3' < '6.5-beta' < '6.5rc2' < '6.5' == '6.5.0' < '6.5.1' < '10'."""
    return sort_key(version) if version else None


def week_start(moment: datetime) -> str:
    """The Monday (UTC date) of the ISO week of `moment`: the bucket of 'changes per week'."""
    return (moment.date() - timedelta(days=moment.weekday())).isoformat()


class TechnologyEntry(BaseModel):
    name: str
    version: str | None = None
    version_key: str | None = None
    categories: list[str] = Field(default_factory=list)


class SiteDocument(BaseModel):
    id: str  # the config id
    organization_id: str
    url: str
    name: str
    tags: list[str] = Field(default_factory=list)
    status: str = "unknown"  # up | down | paused | unknown (never scanned)
    technologies: list[TechnologyEntry] = Field(default_factory=list)
    grade: str | None = None
    grade_rank: int | None = None
    score: int | None = None
    findings: list[str] = Field(default_factory=list)  # failed security findings: result and test names
    cves: list[str] = Field(default_factory=list)  # advisory ids and identifiers of vulnerable libraries
    scanned_at: datetime | None = None
    last_changed_at: datetime | None = None

    def text(self) -> str:
        """What free text matches."""
        techs = " ".join(f"{t.name} {t.version or ''} {' '.join(t.categories)}" for t in self.technologies)
        return " ".join([self.name, self.url, " ".join(self.tags), techs, " ".join(self.findings),
                         " ".join(self.cves), self.status, self.grade or ""])

    def result(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"grade_rank"})


class _OfSite(BaseModel):
    """What a change and an alert carry of their site, so free text and `tag:` find them by it."""

    id: str
    organization_id: str
    site_id: str
    site_name: str = ""
    site_url: str = ""
    tags: list[str] = Field(default_factory=list)


class ChangeDocument(_OfSite):
    type: str
    change_type: str
    subject: str
    before: str | None = None
    after: str | None = None
    impact: str
    impact_rank: int
    detected_at: datetime
    week: str

    def text(self) -> str:
        return " ".join([self.site_name, self.site_url, " ".join(self.tags), self.type, self.change_type,
                         self.subject, self.before or "", self.after or ""])

    def result(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"impact_rank", "week"})


class AlertDocument(_OfSite):
    rule_name: str
    title: str
    severity: str
    severity_rank: int
    status: str
    summary: str = ""  # the changes' subjects, for free text
    triggered_at: datetime

    def text(self) -> str:
        return " ".join([self.site_name, self.site_url, " ".join(self.tags), self.rule_name, self.title,
                         self.severity, self.status, self.summary])

    def result(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"severity_rank"})


def _short(value: Any) -> str | None:
    if value is None:
        return None
    return (value if isinstance(value, str) else str(value))[:500]


def site_document(config: MonitoringConfig, scan: ScanResult | None, last_changed_at: datetime | None,
                  page_scan: ScanResult | None = None) -> SiteDocument:
    """The current state of one site: its config, its latest scan (status, when) and the newest scan that showed
    its page (`page_scan`; the latest itself when it did): a site down for an hour still runs WordPress 6.4 and
    keeps its grade, so the portfolio's "who runs WordPress" still lists it, as down."""
    # Up or down by the availability rules every reader uses: a 503 or 404 answer is down (it was "up" here).
    status = "paused" if config.paused else "unknown" if scan is None else "up" if answer_is_page(
        scan.succeeded, scan.response.status_code if scan.response else None) else "down"
    doc = SiteDocument(id=config.id, organization_id=config.organization_id, url=config.url, name=config.name,
                       tags=list(config.tags), status=status, last_changed_at=last_changed_at)
    if scan is None:
        return doc
    doc.scanned_at = scan.finished_at or scan.started_at
    scan = page_scan or (scan if scan.shows_the_page else None)
    if scan is None:
        return doc
    doc.technologies = [TechnologyEntry(name=t.name, version=t.version, version_key=version_key(t.version),
                                        categories=list(t.categories)) for t in scan.technologies]
    if scan.security is not None:
        doc.grade, doc.score = scan.security.grade, scan.security.score
        doc.grade_rank = grade_rank(scan.security.grade)
        failed = [f for f in scan.security.findings if not f.passed]
        doc.findings = sorted({f.result for f in failed} | {f.test for f in failed})
        doc.cves = sorted({ident for v in scan.security.vulnerabilities for ident in (v.advisory_id, *v.identifiers)})
    return doc


def change_document(change: Change, config: MonitoringConfig | None) -> ChangeDocument:
    return ChangeDocument(
        id=change.id, organization_id=change.organization_id, site_id=change.config_id,
        site_name=config.name if config else "", site_url=config.url if config else "",
        tags=list(config.tags) if config else [],
        type=change.type.value, change_type=change.change_type, subject=change.subject,
        before=_short(change.before), after=_short(change.after), impact=change.impact.value,
        impact_rank=change.impact.rank, detected_at=change.detected_at, week=week_start(change.detected_at),
    )


def alert_document(alert: Alert, config: MonitoringConfig | None) -> AlertDocument:
    summary = " ".join(str(item.get("subject", "")) for item in alert.changes)
    return AlertDocument(
        id=alert.id, organization_id=alert.organization_id, site_id=alert.config_id,
        site_name=config.name if config else "", site_url=config.url if config else "",
        tags=list(config.tags) if config else [],
        rule_name=alert.rule_name, title=alert.title, severity=Impact(alert.severity).value,
        severity_rank=Impact(alert.severity).rank, status=alert.status.value, summary=summary[:2000],
        triggered_at=alert.triggered_at,
    )
