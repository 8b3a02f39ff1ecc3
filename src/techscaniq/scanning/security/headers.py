"""The Observatory's single-header tests: HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy,
CORS, and the cross-origin policies (CORP, COOP, COEP)."""

from __future__ import annotations

import re

import http_sf

from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.grading import finding

# 15768000 s is six months; many sites use 15552000 (180 days) and the Observatory accepts it.
SIX_MONTHS_SECONDS = 15_552_000

# RFC 6797 section 6.1: directive = directive-name [ "=" directive-value ], a value being a token or a
# quoted-string, with optional whitespace around the parts.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_HSTS_DIRECTIVE = re.compile(rf'\s*({_TOKEN})\s*(?:=\s*(?:({_TOKEN})|"((?:[^"\\]|\\.)*)")\s*)?')

_REFERRER_PRIVATE = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")
_REFERRER_UNSAFE = ("origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade")


def hsts_test(values: list[str], *, https: bool, verified: bool, preloaded: bool = False) -> SecurityFinding:
    """`preloaded`: the host is on the HSTS preload list, which browsers apply whatever the header says."""
    test = "strict-transport-security"
    if not https:
        return finding(test, "hsts-not-implemented-no-https")
    if not verified:
        return finding(test, "hsts-invalid-cert", values[0][:1024] if values else None)
    if preloaded:
        return finding(test, "hsts-preloaded", values[0][:1024] if values else None, preloaded=True)
    if not values:
        return finding(test, "hsts-not-implemented")
    raw = values[0][:1024]
    directives = _hsts_directives(raw)
    max_age_text = directives.get("max-age") if directives is not None else None
    # delta-seconds is 1*DIGIT: "31536000abc" or "-1" make the header invalid, not a number.
    if directives is None or max_age_text is None or not re.fullmatch(r"[0-9]+", max_age_text):
        return finding(test, "hsts-header-invalid", raw)
    max_age = int(max_age_text)
    include_subdomains, preload = "includesubdomains" in directives, "preload" in directives
    result = (
        "hsts-implemented-max-age-at-least-six-months" if max_age >= SIX_MONTHS_SECONDS
        else "hsts-implemented-max-age-less-than-six-months"
    )
    return finding(test, result, raw, max_age=max_age, include_subdomains=include_subdomains, preload=preload)


def _hsts_directives(raw: str) -> dict[str, str] | None:
    """Directive name (lower-cased) -> value ("" without one), by RFC 6797; None when a browser ignores the
    header: a comma (the header sent twice and joined), a directive that does not parse, or one repeated."""
    if "," in raw:
        return None
    directives: dict[str, str] = {}
    for part in raw.split(";"):
        if not part.strip():
            continue  # the grammar allows empty directives ("max-age=1;;")
        match = _HSTS_DIRECTIVE.fullmatch(part)
        if match is None:
            return None
        name = match.group(1).lower()
        if name in directives:
            return None
        token, quoted = match.group(2), match.group(3)
        directives[name] = token if token is not None else re.sub(r"\\(.)", r"\1", quoted or "")
    return directives


def x_content_type_options_test(value: str | None) -> SecurityFinding:
    test = "x-content-type-options"
    if value is None:
        return finding(test, "x-content-type-options-not-implemented")
    raw = value[:256]
    ok = raw.strip().lower() == "nosniff"
    return finding(test, "x-content-type-options-nosniff" if ok else "x-content-type-options-header-invalid", raw)


def x_frame_options_test(value: str | None, *, csp_frame_ancestors: bool) -> SecurityFinding:
    test = "x-frame-options"
    raw = value[:1024] if value is not None else None
    if csp_frame_ancestors:  # frame-ancestors in the CSP header supersedes X-Frame-Options
        return finding(test, "x-frame-options-implemented-via-csp", raw)
    if raw is None:
        return finding(test, "x-frame-options-not-implemented")
    lowered = raw.strip().lower()
    if lowered in ("deny", "sameorigin"):
        return finding(test, "x-frame-options-sameorigin-or-deny", raw)
    if lowered.startswith("allow-from"):
        return finding(test, "x-frame-options-allow-from-origin", raw)
    return finding(test, "x-frame-options-header-invalid", raw)


def referrer_policy_test(header_values: list[str], meta_values: list[str]) -> SecurityFinding:
    test = "referrer-policy"
    if not header_values and not meta_values:
        return finding(test, "referrer-policy-not-implemented")
    raw = ", ".join(header_values + meta_values)[:1024]
    known = set(_REFERRER_PRIVATE + _REFERRER_UNSAFE)
    # The last recognised token wins (a meta tag overrides the header).
    tokens = [token.strip().lower() for token in raw.split(",") if token.strip().lower() in known]
    policy = tokens[-1] if tokens else ""
    if policy in _REFERRER_PRIVATE:
        result = "referrer-policy-private"
    elif policy in _REFERRER_UNSAFE:
        result = "referrer-policy-unsafe"
    else:
        result = "referrer-policy-header-invalid"
    return finding(test, result, raw, policy=policy or None, http=bool(header_values), meta=bool(meta_values))


def cors_test(
    allow_origin: str | None, allow_credentials: str | None, *, request_origin: str | None
) -> SecurityFinding:
    """Universal access: the server reflects an arbitrary Origin and allows credentials."""
    test = "cross-origin-resource-sharing"
    if not allow_origin:
        return finding(test, "cross-origin-resource-sharing-not-implemented")
    raw = allow_origin[:256].strip()
    if raw == "*":
        return finding(test, "cross-origin-resource-sharing-implemented-with-public-access", raw)
    reflected = request_origin is not None and raw.lower() == request_origin.lower()
    credentials = (allow_credentials or "").strip().lower() == "true"
    if reflected and credentials:
        return finding(test, "cross-origin-resource-sharing-implemented-with-universal-access", raw)
    return finding(test, "cross-origin-resource-sharing-implemented-with-restricted-access", raw)


def corp_test(values: list[str]) -> SecurityFinding:
    """Several CORP headers are one comma-joined value, which matches no policy (browsers ignore it too); an
    empty header is no policy at all."""
    test = "cross-origin-resource-policy"
    joined = ", ".join(values)[:256].strip().lower()
    if not joined:
        return finding(test, "corp-not-implemented")
    results = {
        "same-site": "corp-implemented-with-same-site",
        "same-origin": "corp-implemented-with-same-origin",
        "cross-origin": "corp-implemented-with-cross-origin",
    }
    return finding(test, results.get(joined, "corp-header-invalid"), joined)


def _structured_token(value: str) -> str | None:
    """The token of an RFC 8941 structured-field item, its parameters (`; report-to="..."`) dropped; None when
    the value is no such item or not a token. Browsers parse COOP and COEP this way and ignore a value that
    fails: a quoted `"same-origin"` is a string, `Same-Origin` a token that names no policy."""
    try:
        parsed = http_sf.parse(value.encode("latin-1", errors="replace"), tltype="item")
    except http_sf.StructuredFieldError:
        return None
    bare_item = parsed[0] if isinstance(parsed, tuple) else None
    return str(bare_item) if isinstance(bare_item, http_sf.Token) else None


def _single_token_test(test: str, prefix: str, values: list[str], known: tuple[str, ...]) -> SecurityFinding:
    """COOP and COEP: one structured-field token; absent, repeated or unknown values have fixed results."""
    if not values:
        return finding(test, f"{prefix}-not-implemented")
    raw = values[0][:1024].strip()
    token = _structured_token(raw)
    if len(values) > 1 or token not in known:
        return finding(test, f"{prefix}-header-invalid", raw)
    return finding(test, f"{prefix}-implemented-with-{token}", raw)


def coop_test(values: list[str]) -> SecurityFinding:
    return _single_token_test("cross-origin-opener-policy", "coop", values,
                              ("same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"))


def coep_test(values: list[str]) -> SecurityFinding:
    return _single_token_test("cross-origin-embedder-policy", "coep", values,
                              ("require-corp", "credentialless", "unsafe-none"))
