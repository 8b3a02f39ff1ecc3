"""Judging how a security header changed: weakened, strengthened or merely changed.

Values are normalised first so per-request noise (CSP nonces, spacing, case) never reads as a change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from techscaniq.domain.scan import ScanResult

MAX_HEADER = 8192  # hostile headers are cut before parsing
_NONCE = re.compile(r"'nonce-[^']*'", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_CSP_DANGEROUS = frozenset({"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "blob:",
                            "http:", "https:", "http://*", "https://*"})
_CSP_REPORTING = frozenset({"report-uri", "report-to"})

# Stronger value -> higher rank.
_RANKED: dict[str, dict[str, int]] = {
    "x-frame-options": {"deny": 2, "sameorigin": 1},
    "x-content-type-options": {"nosniff": 1},
    "referrer-policy": {
        "no-referrer": 7, "same-origin": 6, "strict-origin": 5, "strict-origin-when-cross-origin": 4, "origin": 3,
        "origin-when-cross-origin": 2, "no-referrer-when-downgrade": 1, "unsafe-url": 0,
    },
    "cross-origin-opener-policy": {"same-origin": 2, "same-origin-allow-popups": 1, "unsafe-none": 0},
    "cross-origin-embedder-policy": {"require-corp": 2, "credentialless": 1, "unsafe-none": 0},
    "cross-origin-resource-policy": {"same-origin": 2, "same-site": 1, "cross-origin": 0},
}


@dataclass
class HeaderVerdict:
    change_type: str  # weakened | strengthened | changed
    details: dict[str, Any] = field(default_factory=dict)


def header_values(scan: ScanResult, names: tuple[str, ...]) -> dict[str, str]:
    """Tracked headers of a scan's response (repeated headers joined as a browser would combine them)."""
    wanted = set(names)
    found: dict[str, list[str]] = {}
    for key, value in scan.response.headers if scan.response else []:
        lowered = key.lower()
        if lowered in wanted:
            found.setdefault(lowered, []).append(value[:MAX_HEADER])
    return {key: ", ".join(values) for key, values in found.items()}


def normalise(name: str, value: str) -> str:
    value = _SPACES.sub(" ", value.strip())
    if name == "content-security-policy":
        return _NONCE.sub("'nonce-*'", value)  # a fresh nonce per response is the point of a nonce
    return value.lower()


def judge(name: str, before: str, after: str) -> HeaderVerdict | None:
    """None when the normalised values are equal."""
    if normalise(name, before) == normalise(name, after):
        return None
    if name == "strict-transport-security":
        return _judge_hsts(before, after)
    if name == "content-security-policy":
        return _judge_csp(before, after)
    if name in _RANKED:
        return _judge_ranked(_RANKED[name], before, after)
    return HeaderVerdict("changed")


def _hsts(value: str) -> tuple[int, bool, bool]:
    lowered = value.lower()
    match = re.search(r"max-age\s*=\s*\"?(\d{1,12})", lowered)
    return int(match.group(1)) if match else 0, "includesubdomains" in lowered, "preload" in lowered


def _judge_hsts(before: str, after: str) -> HeaderVerdict:
    (old_age, old_sub, old_pre), (new_age, new_sub, new_pre) = _hsts(before), _hsts(after)
    details = {"max_age": {"before": old_age, "after": new_age},
               "include_subdomains": {"before": old_sub, "after": new_sub},
               "preload": {"before": old_pre, "after": new_pre}}
    if new_age < old_age or (old_sub and not new_sub) or (old_pre and not new_pre):
        return HeaderVerdict("weakened", details)
    if new_age > old_age or new_sub > old_sub or new_pre > old_pre:
        return HeaderVerdict("strengthened", details)
    return HeaderVerdict("changed", details)


def _csp(value: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for policy in normalise("content-security-policy", value).split(","):
        for entry in policy.split(";"):
            tokens = entry.split()
            if tokens:
                directives.setdefault(tokens[0].lower(), set()).update(token.lower() for token in tokens[1:])
    return directives


def _judge_csp(before: str, after: str) -> HeaderVerdict:
    old, new = _csp(before), _csp(after)
    removed = sorted(d for d in old if d not in new and d not in _CSP_REPORTING)
    added = sorted(d for d in new if d not in old and d not in _CSP_REPORTING)
    loosened = {d: sorted((new[d] - old[d]) & _CSP_DANGEROUS) for d in old if d in new}
    tightened = {d: sorted((old[d] - new[d]) & _CSP_DANGEROUS) for d in old if d in new}
    loosened = {d: tokens for d, tokens in loosened.items() if tokens}
    tightened = {d: tokens for d, tokens in tightened.items() if tokens}
    details = {"directives_removed": removed, "directives_added": added, "sources_loosened": loosened,
               "sources_tightened": tightened}
    if removed or loosened:
        return HeaderVerdict("weakened", details)
    if added or tightened:
        return HeaderVerdict("strengthened", details)
    return HeaderVerdict("changed", details)


def _judge_ranked(ranks: dict[str, int], before: str, after: str) -> HeaderVerdict:
    def rank(value: str) -> int:
        tokens = [token.strip() for token in value.lower().split(",")]
        known = [ranks[token] for token in tokens if token in ranks]
        return known[-1] if known else -1  # the last recognised value is the one browsers apply

    old, new = rank(before), rank(after)
    details = {"rank": {"before": old, "after": new}}
    if new < old:
        return HeaderVerdict("weakened", details)
    if new > old:
        return HeaderVerdict("strengthened", details)
    return HeaderVerdict("changed", details)
