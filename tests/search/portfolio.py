"""A small portfolio of two organizations, as search documents (what the indexer builds from the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from techscaniq.domain.common import Impact
from techscaniq.search.backend import IndexWriter
from techscaniq.search.documents import (
    AlertDocument,
    ChangeDocument,
    SiteDocument,
    TechnologyEntry,
    grade_rank,
    version_key,
    week_start,
)

ORG, OTHER = "org-search-a", "org-search-b"
NOW = datetime.now(UTC)


def tech(name: str, version: str | None = None, *categories: str) -> TechnologyEntry:
    return TechnologyEntry(name=name, version=version, version_key=version_key(version), categories=list(categories))


def site(id: str, org: str, name: str, grade: str | None, *, tags: list[str], techs: list[TechnologyEntry],
         status: str = "up", findings: list[str] | None = None, cves: list[str] | None = None,
         changed_days_ago: float | None = None, score: int | None = None) -> SiteDocument:
    return SiteDocument(
        id=id, organization_id=org, url=f"https://{name.lower().replace(' ', '-')}.example.com/", name=name,
        tags=tags, status=status, technologies=techs, grade=grade, grade_rank=grade_rank(grade), score=score,
        findings=findings or [], cves=cves or [], scanned_at=NOW - timedelta(hours=1),
        last_changed_at=None if changed_days_ago is None else NOW - timedelta(days=changed_days_ago),
    )


SITES = [
    site("site-shop", ORG, "Shop", "C", score=55, tags=["prod"], changed_days_ago=2,
         techs=[tech("WordPress", "6.4.3", "CMS", "Blogs"), tech("Stripe", None, "Payment processors"),
                tech("jQuery", "3.4.1", "JavaScript libraries")],
         findings=["hsts-not-implemented", "strict-transport-security"], cves=["CVE-2020-11023", "GHSA-jpcq"]),
    site("site-blog", ORG, "Blog", "A", score=95, tags=["staging"], changed_days_ago=20,
         techs=[tech("WordPress", "6.5.2", "CMS", "Blogs")]),
    site("site-api", ORG, "API", "B", score=70, tags=["prod"], status="down", techs=[tech("Nginx", "1.25.3")]),
    site("site-other", OTHER, "Other shop", "F", score=0, tags=["prod"], changed_days_ago=1,
         techs=[tech("WordPress", "5.0", "CMS"), tech("Stripe", None, "Payment processors")],
         findings=["hsts-not-implemented"], cves=["CVE-2020-11023"]),
]


def change(id: str, org: str, site_doc: SiteDocument, type: str, change_type: str, subject: str, impact: Impact,
           days_ago: float, after: str | None = None) -> ChangeDocument:
    detected = NOW - timedelta(days=days_ago)
    return ChangeDocument(id=id, organization_id=org, site_id=site_doc.id, site_name=site_doc.name,
                          site_url=site_doc.url, tags=site_doc.tags, type=type, change_type=change_type,
                          subject=subject, after=after, impact=impact.value, impact_rank=impact.rank,
                          detected_at=detected, week=week_start(detected))


CHANGES = [
    change("change-stripe", ORG, SITES[0], "technology", "added", "Stripe", Impact.MEDIUM, 2),
    change("change-hsts", ORG, SITES[1], "security", "regressed", "strict-transport-security", Impact.HIGH, 20),
    change("change-other", OTHER, SITES[3], "technology", "added", "Stripe", Impact.MEDIUM, 1),
]


def alert(id: str, org: str, site_doc: SiteDocument, title: str, severity: Impact, status: str) -> AlertDocument:
    return AlertDocument(id=id, organization_id=org, site_id=site_doc.id, site_name=site_doc.name,
                         site_url=site_doc.url, tags=site_doc.tags, rule_name="Technology watch", title=title,
                         severity=severity.value, severity_rank=severity.rank, status=status, summary="Stripe",
                         triggered_at=NOW - timedelta(days=2))


ALERTS = [
    alert("alert-stripe", ORG, SITES[0], "Stripe added on Shop", Impact.MEDIUM, "triggered"),
    alert("alert-other", OTHER, SITES[3], "Stripe added on Other shop", Impact.MEDIUM, "triggered"),
]


async def load(writer: IndexWriter) -> None:
    await writer.put_sites(SITES)
    await writer.put_changes(CHANGES)
    await writer.put_alerts(ALERTS)
