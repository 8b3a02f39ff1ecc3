"""The monitoring config, exactly as the deployment guide writes it, validated field by field."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from techscaniq.domain.common import (
    SCHEMA_VERSION,
    Impact,
    SafeId,
    Secret,
    Severity,
    TimeZoneName,
    new_id,
    utcnow,
)


class StrictModel(BaseModel):
    """Unknown fields are refused so a typo in a config never silently does nothing."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScheduleType(StrEnum):
    CRON = "cron"
    INTERVAL = "interval"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_interval_seconds(expression: str | int | float) -> float:
    """'300', 300, '5m', '1h', '1.5s' -> seconds. Raises ValueError naming the problem."""
    if isinstance(expression, int | float):
        seconds = float(expression)
    else:
        match = _DURATION.match(expression)
        if not match:
            raise ValueError(f"interval {expression!r} is not a duration such as '30s', '5m', '1h' or '1d'")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("interval must be greater than zero")
    return seconds


def refuse_unitless(expression: str) -> None:
    """'5' used to mean five seconds, which nobody expects ('5' what?): a new or edited interval names its
    unit. Stored configs keep loading as they were."""
    if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", expression):
        number = expression.strip()
        raise ValueError(f"interval {number!r} has no unit: write '{number}s' for seconds, or use m, h or d "
                         f"(e.g. '{number}m' for minutes)")


# The nicknames cron itself knows, as the five fields they stand for.
CRON_NICKNAMES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


def five_field_cron(expression: str, *, stored: bool = False) -> str:
    """A cron expression as its five fields (minute hour day-of-month month day-of-week); raises ValueError
    naming the problem for anything else: seconds fields, unknown nicknames, or a date that never comes.
    `stored`: a config stored before these rules keeps loading (its schedule runs as it did)."""
    fields = CRON_NICKNAMES.get(expression.strip().lower(), expression)
    if fields.startswith("@"):
        raise ValueError(f"expression {expression!r}: known nicknames are {', '.join(CRON_NICKNAMES)}")
    if stored:
        return fields
    if len(fields.split()) != 5:
        raise ValueError(f"expression {expression!r} must have five fields (minute hour day month weekday); "
                         "seconds are not supported")
    if not croniter.is_valid(fields):
        raise ValueError(f"expression {expression!r} is not a valid cron expression")
    try:  # '0 0 31 2 *' parses but never fires; croniter gives up after a bounded search (~1 ms)
        croniter(fields, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"expression {expression!r} never fires (no such date)") from None
    return fields


# Validation context key of the write paths: the deployment's MIN_SCAN_INTERVAL_SECONDS.
MIN_INTERVAL = "min_interval_seconds"
# Enough firings to span a day of any five-field cron; its shortest gap shows within them.
_CRON_SAMPLE = 1500


def shortest_gap_seconds(schedule_type: ScheduleType, expression: str) -> float:
    """The shortest time between two runs of a (valid) schedule expression."""
    if schedule_type is ScheduleType.INTERVAL:
        return parse_interval_seconds(expression)
    iterator = croniter(five_field_cron(expression, stored=True), datetime(2000, 1, 1))
    previous: datetime = iterator.get_next(datetime)
    shortest = float("inf")
    for _ in range(_CRON_SAMPLE):
        current: datetime = iterator.get_next(datetime)
        shortest = min(shortest, (current - previous).total_seconds())
        if shortest <= 60 or (current - previous).days > 366:
            break  # a cron cannot fire more often than once a minute
        previous = current
    return shortest


def too_frequent(schedule_type: ScheduleType, expression: str, minimum_seconds: float) -> str | None:
    """Why a schedule runs more often than the deployment allows, or None."""
    if minimum_seconds <= 0 or (schedule_type is ScheduleType.CRON and minimum_seconds <= 60):
        return None  # five-field cron fires at most once a minute
    gap = shortest_gap_seconds(schedule_type, expression)
    if gap >= minimum_seconds:
        return None
    what = "interval" if schedule_type is ScheduleType.INTERVAL else "cron expression fires every"
    return (f"{what} {gap:g} s is below the minimum scan interval of {minimum_seconds:g} s "
            "(MIN_SCAN_INTERVAL_SECONDS)")


class Schedule(StrictModel):
    type: ScheduleType
    expression: str
    timezone: TimeZoneName = "UTC"
    # Spreads configs that share a cron minute; None lets the scheduler pick a stable per-config offset.
    jitter_seconds: float | None = Field(default=None, ge=0)

    @field_validator("expression", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _valid_expression(self, info: ValidationInfo) -> Schedule:
        context = info.context or {}
        if self.type is ScheduleType.CRON:
            five_field_cron(self.expression, stored=bool(context.get("stored")))
        else:
            parse_interval_seconds(self.expression)
            if not context.get("stored"):
                refuse_unitless(self.expression)
        # Only write paths pass the minimum: stored configs keep loading (the worker spaces their runs).
        problem = too_frequent(self.type, self.expression, float(context.get(MIN_INTERVAL) or 0))
        if problem:
            raise ValueError(problem)
        return self

    @property
    def cron_fields(self) -> str:
        """The cron expression as its five fields (nicknames such as @hourly expanded)."""
        return five_field_cron(self.expression, stored=True)

    @property
    def interval_seconds(self) -> float:
        return parse_interval_seconds(self.expression)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ScanConfig(StrictModel):
    technologies: bool = True
    performance: bool = True
    security: bool = True
    # Percent change against the baseline that counts as a regression, per metric (e.g. load_time: 20).
    performance_thresholds: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    browser: bool = False
    full_page: bool = False
    probe_sensitive_paths: bool = False
    check_legacy_tls: bool = False
    timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    tls_rating: bool = True  # probe the server's TLS (protocols, suites, certificate) and grade it


# ---- notification channels ---------------------------------------------------------------


class EmailChannel(StrictModel):
    type: Literal["email"] = "email"
    recipients: list[str] = Field(min_length=1)
    smtp_host: str | None = None  # None: use the SMTP_* settings of the deployment
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    use_tls: bool = True
    from_address: str | None = None

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class SlackChannel(StrictModel):
    type: Literal["slack"] = "slack"
    webhook_url: Secret
    channel: str | None = None
    username: str | None = "TechScanIQ"
    icon_emoji: str | None = None


class WebhookAuth(StrictModel):
    type: Literal["basic", "bearer"]
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None

    @model_validator(mode="after")
    def _complete(self) -> WebhookAuth:
        if self.type == "basic" and (self.username is None or self.password is None):
            raise ValueError("basic auth needs username and password")
        if self.type == "bearer" and self.token is None:
            raise ValueError("bearer auth needs token")
        return self


class WebhookChannel(StrictModel):
    type: Literal["webhook"] = "webhook"
    url: Secret
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, Secret] = Field(default_factory=dict)
    auth: WebhookAuth | None = None
    secret: Secret | None = None  # HMAC-SHA256 signing key
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: Secret) -> Secret:
        _require_http_url(value.get_secret_value())
        return value


class AppriseChannel(StrictModel):
    type: Literal["apprise"] = "apprise"
    urls: list[Secret] = Field(min_length=1)


NotificationChannel = Annotated[
    EmailChannel | SlackChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")
]


# ---- alert rules ---------------------------------------------------------------------------


class ChangeCategory(StrEnum):
    TECHNOLOGY = "technology"
    PERFORMANCE = "performance"
    SECURITY = "security"
    AVAILABILITY = "availability"
    ANY = "any"


class AlertConditions(StrictModel):
    type: ChangeCategory = ChangeCategory.ANY
    change_types: list[str] = Field(default_factory=list)  # empty: every change type
    min_impact: Impact = Impact.LOW
    technologies: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)


class AlertRule(StrictModel):
    id: SafeId = Field(default_factory=new_id, min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    conditions: AlertConditions = Field(default_factory=AlertConditions)
    severity: Severity = Impact.MEDIUM
    notification_channels: list[NotificationChannel] = Field(default_factory=list)
    throttle_minutes: float = Field(default=0, ge=0)
    enabled: bool = True
    notify_on_resolve: bool = False


# ---- the config ------------------------------------------------------------------------------


def _require_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        if not parts.scheme and url.strip() and " " not in url.strip():
            raise ValueError(f"must be an http or https URL — did you mean 'https://{url.strip()[:200]}'?")
        raise ValueError(f"must be an http or https URL (not {parts.scheme[:20] or 'no scheme'!r})")
    if not parts.hostname:
        raise ValueError("must be an http or https URL with a host name (https://example.com/)")
    return url


class MonitoringConfig(StrictModel):
    id: SafeId = Field(default_factory=new_id, min_length=1, max_length=200)
    organization_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=300)
    url: str = Field(max_length=2048)
    schedule: Schedule
    scan_config: ScanConfig = Field(default_factory=ScanConfig)
    alert_rules: list[AlertRule] = Field(default_factory=list)
    paused: bool = False
    # Free labels for search (`tag:prod`) and grouping sites in the dashboard; no meaning to the scans.
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    schema_version: int = SCHEMA_VERSION

    @field_validator("tags")
    @classmethod
    def _tidy_tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _require_http_url(value.strip())

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> MonitoringConfig:
        # Counter, not list.count: the check runs on every config load, so it must stay linear in the rule count.
        counts = Counter(rule.id for rule in self.alert_rules)
        duplicates = {rule_id for rule_id, count in counts.items() if count > 1}
        if duplicates:
            raise ValueError(f"alert_rules ids must be unique; repeated: {sorted(duplicates)}")
        return self

    def rule(self, rule_id: str) -> AlertRule | None:
        """The alert rule with this id (ids are unique within a config), or None."""
        return next((rule for rule in self.alert_rules if rule.id == rule_id), None)
