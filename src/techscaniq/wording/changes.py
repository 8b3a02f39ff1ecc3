"""One sentence per change: 'Stripe 3 added (Payment processors)', 'jQuery updated from 3.6.0 to 3.7.1',
'Grade fell from B to C: CSP header not implemented', 'Site down: HTTP 503', 'TTFB rose from 120 ms to
900 ms'.

The input is the JSON form of a change (or an alert's summary of one, which has no evidence: the
sentence is then a little shorter). Everything in it came from a site, so values are flattened to one
line and cut: a hostile page cannot put markup or a novel into a sentence (channels still escape it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from techscaniq.wording.names import finding_title, header_name, metric_name, metric_value

MAX_VALUE = 120  # characters of one value quoted in a sentence

Change = Mapping[str, Any]


def describe_change(change: Change) -> str:
    kind, change_type = str(change.get("type") or ""), str(change.get("change_type") or "")
    describer = _DESCRIBERS.get(kind)
    sentence = describer(change, change_type) if describer else None
    return sentence or _generic(change, change_type)


def cut(value: Any, limit: int = MAX_VALUE) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())  # no line breaks from hostile input
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _subject(change: Change) -> str:
    return cut(change.get("subject") or "?", 80)


def _evidence(change: Change) -> Mapping[str, Any]:
    evidence = change.get("evidence")
    return evidence if isinstance(evidence, Mapping) else {}


def _listed(values: Any, limit: int = 3) -> str:
    names = [cut(v, 40) for v in values if v] if isinstance(values, list) else []
    text = ", ".join(names[:limit])
    return text + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --- technology ---------------------------------------------------------------------------------------

def _technology(change: Change, change_type: str) -> str | None:
    name = _subject(change)
    before, after = change.get("before"), change.get("after")
    if change_type in ("added", "removed"):
        detection = after if change_type == "added" else before
        version = detection.get("version") if isinstance(detection, Mapping) else None
        categories = detection.get("categories") if isinstance(detection, Mapping) else None
        text = f"{name} {cut(version, 40)} {change_type}" if version else f"{name} {change_type}"
        if categories:
            text += f" ({_listed(categories)})"
        partners = _evidence(change).get("replaces" if change_type == "added" else "replaced_by")
        if partners:
            text += f", {'replacing' if change_type == 'added' else 'replaced by'} {_listed(partners)}"
        return text
    verbs = {"upgraded": "updated", "downgraded": "downgraded", "version_changed": "version changed"}
    if change_type in verbs:
        return f"{name} {verbs[change_type]} from {cut(before, 40)} to {cut(after, 40)}"
    if change_type == "category_changed":
        return f"{name} is now listed as {_listed(after) or 'uncategorised'} (was {_listed(before) or 'uncategorised'})"
    return None


# --- availability -------------------------------------------------------------------------------------

def _availability(change: Change, change_type: str) -> str | None:
    evidence = _evidence(change)
    if change_type == "down":
        failures = evidence.get("failures")
        first = failures[0] if isinstance(failures, list) and failures and isinstance(failures[0], Mapping) else {}
        if first.get("status_code"):
            return f"Site down: HTTP {cut(first['status_code'], 10)}"
        if first.get("message") or first.get("error"):
            return f"Site down: {cut(first.get('message') or first.get('error'), 100)}"
        return "Site down"
    if change_type == "up":
        seconds = evidence.get("downtime_seconds")
        return f"Site back up after {duration(seconds)}" if isinstance(seconds, int | float) else "Site back up"
    if change_type == "changed":
        return f"HTTP status changed from {cut(change.get('before'), 10)} to {cut(change.get('after'), 10)}"
    if change_type == "redirect_changed":
        return f"Site now ends at {cut(change.get('after'))} (was {cut(change.get('before'))})"
    return None


# --- performance --------------------------------------------------------------------------------------

def _performance(change: Change, change_type: str) -> str | None:
    metric = str(change.get("subject") or "")
    name = metric_name(metric)
    before, after = change.get("before"), change.get("after")
    was, now = metric_value(metric, before), metric_value(metric, after)
    if change_type == "recovered":
        return f"{name} back to normal: {now}"
    if change_type in ("regressed", "improved"):
        if isinstance(before, int | float) and isinstance(after, int | float) and before != after:
            verb = "rose" if after > before else "fell"
            return f"{name} {verb} from {was} to {now}"
        return f"{name} {change_type}: {now}"
    return None


# --- security -----------------------------------------------------------------------------------------

_HEADER_VERBS = {"added": "added", "removed": "removed", "weakened": "weakened", "strengthened": "strengthened",
                 "changed": "changed"}


def _security(change: Change, change_type: str) -> str | None:
    subject = str(change.get("subject") or "")
    before, after = change.get("before"), change.get("after")
    if subject == "grade":
        verb = "fell" if change_type == "degraded" else "rose"
        text = f"Grade {verb} from {cut(before, 3)} to {cut(after, 3)}"
        reasons = _evidence(change).get("reasons")
        return f"{text}: {_listed(reasons, 2)}" if reasons else text
    if subject == "certificate":
        return _certificate(change, change_type)
    if subject == "tls_protocol":
        return f"TLS protocol {change_type} from {cut(before, 20)} to {cut(after, 20)}"
    if change_type.startswith("finding_"):
        return _finding(change, change_type)
    if change_type in _HEADER_VERBS:
        text = f"{header_name(subject)} header {_HEADER_VERBS[change_type]}"
        if change_type in ("weakened", "strengthened", "changed") and before is not None and after is not None:
            text += f": {cut(before, 60)} → {cut(after, 60)}"
        return text
    return None


def _certificate(change: Change, change_type: str) -> str | None:
    before, after = change.get("before"), change.get("after")
    if change_type == "replaced":
        return "TLS certificate replaced"
    if change_type == "issuer_changed":
        return f"Certificate issuer changed from {cut(before, 60)} to {cut(after, 60)}"
    if change_type == "trusted":
        return "Certificate is trusted again"
    if change_type == "untrusted":
        error = _evidence(change).get("error")
        return f"Certificate no longer trusted: {cut(error, 100)}" if error else "Certificate no longer trusted"
    if change_type == "expiring":
        return f"Certificate expires in {cut(after, 10)} days" if after is not None else "Certificate expires soon"
    if change_type == "expired":
        return "Certificate expired"
    return None


def _finding(change: Change, change_type: str) -> str:
    title = finding_title(str(change.get("subject") or ""))
    findings = _evidence(change).get("findings")
    first = findings[0] if isinstance(findings, list) and findings and isinstance(findings[0], Mapping) else {}
    detail = first.get("description")
    if change_type == "finding_resolved":
        return f"Security issue resolved: {title}"
    label = "New security issue" if change_type == "finding_added" else "Security issue changed"
    return f"{label}: {title} ({cut(detail, 100)})" if detail else f"{label}: {title}"


def _generic(change: Change, change_type: str) -> str:
    text = f"{_subject(change)} {change_type.replace('_', ' ')}".strip()
    before, after = change.get("before"), change.get("after")
    if before is not None and after is not None:
        return f"{text} from {cut(before, 60)} to {cut(after, 60)}"
    if after is not None:
        return f"{text}: {cut(after, 60)}"
    return text


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


_DESCRIBERS: dict[str, Callable[[Change, str], str | None]] = {
    "technology": _technology, "availability": _availability, "performance": _performance,
    "security": _security,
}
