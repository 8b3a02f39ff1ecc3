"""Findings about the TLS connection the fetch negotiated: certificate validity, expiry, hostname, protocol."""

from __future__ import annotations

from techscaniq.domain.fetch import TLSInfo
from techscaniq.domain.security import SecurityFinding

CATEGORY = "tls"
EXPIRY_WARNING_DAYS = 30
EXPIRY_CRITICAL_DAYS = 7
_OUTDATED_PROTOCOLS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1"})


def _tls(test: str, result: str, passed: bool, description: str, severity: str | None = None,
         value: str | None = None, **data: object) -> SecurityFinding:
    return SecurityFinding(
        test=test, result=result, passed=passed, description=description, category=CATEGORY,
        severity=None if passed else severity, value=value, data=dict(data),
    )


def tls_findings(tls: TLSInfo | None, *, https: bool) -> list[SecurityFinding]:
    if not https:
        return [_tls("tls", "tls-not-used", False, "The page is served over plain HTTP", "high")]
    if tls is None:
        return [_tls("tls", "tls-unknown", False, "The fetch recorded no TLS details", "low")]
    found: list[SecurityFinding] = []
    if tls.verified:
        found.append(_tls("tls-certificate", "tls-certificate-trusted", True, "Certificate chain is valid",
                          value=tls.issuer))
    else:
        found.append(_tls("tls-certificate", "tls-certificate-untrusted", False,
                          "Certificate chain does not verify" + (f": {tls.error}" if tls.error else ""),
                          "critical", value=tls.issuer))
    if tls.hostname_match is False:
        found.append(_tls("tls-hostname", "tls-hostname-mismatch", False,
                          "Certificate does not name this host", "critical", value=", ".join(tls.sans[:20])))
    elif tls.hostname_match:
        found.append(_tls("tls-hostname", "tls-hostname-match", True, "Certificate names this host"))
    days = tls.days_to_expiry
    if days is not None:
        not_after = tls.not_after.isoformat() if tls.not_after else None
        if days < 0:
            found.append(_tls("tls-expiry", "tls-certificate-expired", False,
                              f"Certificate expired {-days:.0f} days ago", "critical", not_after, days=days))
        elif days < EXPIRY_CRITICAL_DAYS:
            found.append(_tls("tls-expiry", "tls-certificate-expires-very-soon", False,
                              f"Certificate expires in {days:.1f} days", "high", not_after, days=days))
        elif days < EXPIRY_WARNING_DAYS:
            found.append(_tls("tls-expiry", "tls-certificate-expires-soon", False,
                              f"Certificate expires in {days:.0f} days", "medium", not_after, days=days))
        else:
            found.append(_tls("tls-expiry", "tls-certificate-valid-period", True,
                              f"Certificate valid for {days:.0f} more days", value=not_after, days=days))
    if tls.protocol:
        outdated = tls.protocol in _OUTDATED_PROTOCOLS
        found.append(_tls("tls-protocol", "tls-protocol-outdated" if outdated else "tls-protocol-current",
                          not outdated, f"Negotiated {tls.protocol}" + (f" with {tls.cipher}" if tls.cipher else ""),
                          "high", tls.protocol, cipher=tls.cipher))
    return found
