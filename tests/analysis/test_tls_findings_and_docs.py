"""TLS findings from the fetch's TLS facts, and the grading document staying in step with the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from techscaniq.domain.fetch import TLSInfo
from techscaniq.scanning.security.grading import RULES
from techscaniq.scanning.security.tls_checks import tls_findings

DOC = Path(__file__).resolve().parents[2] / "docs" / "security-grading.md"


@pytest.mark.parametrize(("days", "result", "severity"), [
    (400.0, "tls-certificate-valid-period", None), (20.0, "tls-certificate-expires-soon", "medium"),
    (3.0, "tls-certificate-expires-very-soon", "high"), (-2.0, "tls-certificate-expired", "critical"),
])
def test_expiry_thresholds(days: float, result: str, severity: str | None) -> None:
    findings = tls_findings(TLSInfo(protocol="TLSv1.3", verified=True, days_to_expiry=days), https=True)
    expiry = next(item for item in findings if item.test == "tls-expiry")
    assert (expiry.result, expiry.severity) == (result, severity)


def test_outdated_protocol_is_flagged() -> None:
    findings = tls_findings(TLSInfo(protocol="TLSv1.1", cipher="ECDHE-RSA-AES128-SHA", verified=True), https=True)
    protocol = next(item for item in findings if item.test == "tls-protocol")
    assert (protocol.result, protocol.passed, protocol.severity) == ("tls-protocol-outdated", False, "high")


def test_docs_list_every_rule_with_its_modifier() -> None:
    text = DOC.read_text()
    for code, rule in RULES.items():
        assert f"| `{code}` | {rule.modifier:+d} |" in text, code
