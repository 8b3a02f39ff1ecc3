"""/api/v1/schedules/preview: when a schedule would run, before it is saved (the dashboard's schedule
field shows the next runs as the user types). The same validation and next-run rule as the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.services import ApiServices
from techscaniq.domain.config import MIN_INTERVAL, Schedule
from techscaniq.pipeline.schedule import next_run_after

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])

PREVIEW_EXAMPLE = {"schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Paris"}, "count": 5}


class PreviewRequest(BaseModel):
    schedule: dict[str, Any] = Field(description="a config's schedule: type (interval|cron), expression, timezone")
    count: int = Field(default=5, ge=1, le=20, description="how many runs to list")


@router.post("/preview", summary="The next runs of a schedule (validated as a config's schedule is)")
async def preview(
    body: PreviewRequest = Body(..., examples=[PREVIEW_EXAMPLE]), principal: Principal = Depends(get_principal),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    schedule = Schedule.model_validate(body.schedule,
                                       context={MIN_INTERVAL: services.settings.min_scan_interval_seconds})
    runs: list[str] = []
    after = datetime.now(UTC)
    for _ in range(body.count):
        # No config id yet: the per-config jitter is left out (a saved cron config runs up to 30 s later).
        after = next_run_after(schedule, "", after)
        runs.append(after.astimezone(schedule.zone).isoformat())
    return {"schedule": schedule.model_dump(mode="json"), "timezone": schedule.timezone, "next_runs": runs}
