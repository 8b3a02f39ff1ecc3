"""What the dashboard shows of a site: the overview of all sites, a config's technology stack with its
history (when each technology and version was first and last seen), and metric series for charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services
from techscaniq.api.errors import FieldError
from techscaniq.api.services import ApiServices
from techscaniq.domain.availability import scan_availability, site_availability
from techscaniq.domain.performance import canonical_metric
from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.domain.uptime import Observation, uptime_between
from techscaniq.realtime.messages import scan_summary

router = APIRouter(prefix="/api/v1", tags=["sites"])

METRIC_NAME = r"^[A-Za-z0-9_]{1,64}$"


@router.get("/overview", summary="Every site of the organization with its latest scan (compact)")
async def overview(
    limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[dict[str, Any]]:
    configs = await services.configs.list_monitoring_configs(principal.organization_id, limit=limit, offset=offset)
    ids = [config.id for config in configs]  # the organization's own configs, so the lookups stay in it
    latest = await services.storage.scans.latest(ids)
    next_runs = await services.storage.configs.next_runs(ids)
    sites = []
    for config in configs:
        last_scan = scan_summary(latest[config.id]) if config.id in latest else None
        graded = latest.get(config.id)
        if graded is not None and graded.security is None and config.scan_config.security:
            graded = await _last_graded(services, config.id, principal.organization_id)
        sites.append({"id": config.id, "name": config.name, "url": config.url, "paused": config.paused,
                      "tags": config.tags, "schedule": config.schedule.model_dump(mode="json"),
                      "rules": len(config.alert_rules),
                      "next_run_at": _iso(next_runs.get(config.id)),
                      "availability": site_availability(config.paused, last_scan), "last_scan": last_scan,
                      "last_grade": _grade_of(graded)})
    return sites


GRADE_LOOKBACK = 10  # successful scans read for the grade of a site whose newest scan has none


async def _last_graded(services: ApiServices, config_id: str, organization_id: str) -> ScanResult | None:
    """The newest graded scan of a site whose newest scan failed (down: no answer to grade): the dashboard
    keeps showing the grade it had, not "no grade"."""
    recent = await services.storage.scans.find(config_id=config_id, organization_id=organization_id,
                                             status=ScanStatus.SUCCESS, limit=GRADE_LOOKBACK)
    return next((scan for scan in recent if scan.security is not None), None)


def _grade_of(scan: ScanResult | None) -> dict[str, Any] | None:
    if scan is None or scan.security is None:
        return None
    return {"grade": scan.security.grade, "score": scan.security.score, "scan_id": scan.id,
            "started_at": scan.started_at.isoformat()}


@router.get("/configs/{config_id}/technologies", summary="Current technology stack and its history")
async def technologies(
    config_id: str, scans: int = Query(500, ge=1, le=5000, description="how many recent successful scans to read"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    await services.configs.get_monitoring_config(config_id, principal.organization_id)  # 404 for another tenant
    history = await services.storage.scans.find(config_id=config_id, organization_id=principal.organization_id,
                                              status=ScanStatus.SUCCESS, limit=scans)
    return {"config_id": config_id, "scans_considered": len(history), **stack_history(list(reversed(history)))}


def stack_history(scans: list[ScanResult]) -> dict[str, Any]:
    """`scans` oldest first. Each technology: first/last seen, present now, and the same per version."""
    seen: dict[str, dict[str, Any]] = {}
    for scan in scans:
        at = scan.started_at.isoformat()
        for detection in scan.technologies:
            entry = seen.setdefault(detection.name, {"name": detection.name, "categories": detection.categories,
                                                     "first_seen": at, "versions": {}})
            entry["last_seen"] = at
            version = entry["versions"].setdefault(detection.version or "", {"version": detection.version,
                                                                             "first_seen": at})
            version["last_seen"] = at
    latest = scans[-1] if scans else None
    current_names = {d.name for d in latest.technologies} if latest else set()
    current = [
        {"name": d.name, "version": d.version, "categories": d.categories, "confidence": d.confidence,
         "first_seen": seen[d.name]["first_seen"], "version_first_seen": seen[d.name]["versions"][d.version or ""][
             "first_seen"]}
        for d in (latest.technologies if latest else [])
    ]
    timeline = [
        {**{k: v for k, v in entry.items() if k != "versions"}, "present": entry["name"] in current_names,
         "versions": list(entry["versions"].values())}
        for entry in sorted(seen.values(), key=lambda e: (e["first_seen"], e["name"]))
    ]
    return {"as_of": latest.started_at.isoformat() if latest else None, "current": current, "history": timeline}


@router.get("/configs/{config_id}/metrics", summary="Metric series for charts (oldest first)")
async def metric_series(
    config_id: str,
    name: list[str] = Query(["ttfb_ms", "load_time_ms"], description="metric names (ttfb_ms, load_time_ms, ...)"),
    since: datetime | None = None, until: datetime | None = None, limit: int = Query(1000, ge=1, le=10_000),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    await services.configs.get_monitoring_config(config_id, principal.organization_id)
    names = [canonical_metric(n) for n in name[:20]]
    _check_names(names)
    series = {}
    for metric in names:
        points = await services.storage.metrics.series(config_id, metric, since=since, until=until, limit=limit)
        series[metric] = [{"time": p.time.isoformat(), "value": p.value, "scan_id": p.scan_id} for p in points]
    return {"config_id": config_id, "series": series}


UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
HEARTBEATS = 60  # the bar on a site's page: its newest scans, one mark each


@router.get("/configs/{config_id}/uptime", summary="Uptime weighted by time in 24 h, 7 d and 30 d; a heartbeat")
async def uptime(
    config_id: str,
    scans: int = Query(1000, ge=1, le=5000, description="at most this many recent scans are read"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    """Up and down as the dashboard shows them (domain/availability.py), each state lasting until the next scan
    (domain/uptime.py): `percent` is the share of the observed time up; `scans`/`up` count the scans. Bounded:
    a window older than the scans read says `complete: false`."""
    await services.configs.get_monitoring_config(config_id, principal.organization_id)
    now = datetime.now(UTC)
    recent = await services.storage.scans.find(config_id=config_id, organization_id=principal.organization_id,
                                             since=now - UPTIME_WINDOWS["30d"], limit=scans)
    marks = [{"scan_id": scan.id, "started_at": scan.started_at.isoformat(),
              **scan_availability(scan.succeeded, scan.response.status_code if scan.response else None,
                                  scan.error.model_dump(mode="json") if scan.error else None)}
             for scan in recent]
    observations = [Observation(scan.started_at, mark["state"] == "up")
                    for mark, scan in reversed(list(zip(marks, recent, strict=True)))]
    complete_until = recent[-1].started_at if len(recent) == scans else None  # older scans were not read
    windows = {}
    for label, span in UPTIME_WINDOWS.items():
        start = now - span
        inside = [mark for mark, scan in zip(marks, recent, strict=True) if scan.started_at >= start]
        weighted = uptime_between(observations, start, now)
        windows[label] = {"scans": len(inside), "up": sum(1 for mark in inside if mark["state"] == "up"),
                          "percent": weighted.percent, "observed_seconds": round(weighted.observed_seconds, 3),
                          "up_seconds": round(weighted.up_seconds, 3),
                          "complete": complete_until is None or complete_until <= start}
    return {"config_id": config_id, "as_of": now.isoformat(), "windows": windows,
            "heartbeat": list(reversed(marks[:HEARTBEATS]))}


def _check_names(names: list[str]) -> None:
    for metric in names:
        if not re.fullmatch(METRIC_NAME, metric):
            raise FieldError("name", f"{metric[:80]!r} is not a metric name (letters, digits and _; at most 64)",
                             "query")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
