"""One plain sentence per kind of change and per alert: what the API's `summary`, every channel and the
CLI show. Inputs are the JSON form the detectors produce (see src/techscaniq/changes/*)."""

from __future__ import annotations

from typing import Any

import pytest

from techscaniq.wording import alert_title, describe_alert, describe_change, finding_title


def change(kind: str, change_type: str, subject: str, before: Any = None, after: Any = None,
           **evidence: Any) -> dict[str, Any]:
    return {"type": kind, "change_type": change_type, "subject": subject, "before": before, "after": after,
            "evidence": evidence}


CASES = [
    (change("technology", "added", "Stripe", after={"version": "3", "categories": ["Payment processors"]}),
     "Stripe 3 added (Payment processors)"),
    (change("technology", "removed", "WordPress", before={"version": None, "categories": ["CMS", "Blogs"]},
            replaced_by=["Drupal"]),
     "WordPress removed (CMS, Blogs), replaced by Drupal"),
    (change("technology", "upgraded", "jQuery", "3.6.0", "3.7.1"), "jQuery updated from 3.6.0 to 3.7.1"),
    (change("technology", "downgraded", "React", "18.2.0", "17.0.2"), "React downgraded from 18.2.0 to 17.0.2"),
    (change("technology", "category_changed", "Stripe", ["Payment processors"], ["Payment processors", "Ecommerce"]),
     "Stripe is now listed as Payment processors, Ecommerce (was Payment processors)"),
    (change("availability", "down", "site", "up", "down", failures=[{"status_code": 503, "error": None}]),
     "Site down: HTTP 503"),
    (change("availability", "down", "site", "up", "down",
            failures=[{"status_code": None, "error": "timeout", "message": "no answer within 30 s"}]),
     "Site down: no answer within 30 s"),
    (change("availability", "up", "site", "down", "up", downtime_seconds=1500.0), "Site back up after 25 min"),
    (change("availability", "changed", "status_code", 200, 404), "HTTP status changed from 200 to 404"),
    (change("availability", "redirect_changed", "final_url", "https://a.example/", "https://b.example/"),
     "Site now ends at https://b.example/ (was https://a.example/)"),
    (change("performance", "regressed", "ttfb_ms", 120.0, 900.0), "TTFB rose from 120 ms to 900 ms"),
    (change("performance", "improved", "load_time_ms", 2400.0, 800.0), "Load time fell from 2400 ms to 800 ms"),
    (change("performance", "regressed", "transfer_bytes", 48_000, 1_250_000),
     "Transfer size rose from 48.0 KB to 1.2 MB"),
    (change("performance", "recovered", "ttfb_ms", 900.0, 130.0), "TTFB back to normal: 130 ms"),
    (change("security", "degraded", "grade", "B", "C", reasons=["CSP header not implemented"]),
     "Grade fell from B to C: CSP header not implemented"),
    (change("security", "improved", "grade", "C", "A"), "Grade rose from C to A"),
    (change("security", "removed", "content-security-policy", "default-src 'self'", None),
     "Content-Security-Policy header removed"),
    (change("security", "weakened", "strict-transport-security", "max-age=63072000", "max-age=60"),
     "Strict-Transport-Security header weakened: max-age=63072000 → max-age=60"),
    (change("security", "finding_added", "sensitive-path", None, ["sensitive-path-exposed"],
            findings=[{"description": "Exposed: Git repository metadata"}]),
     "New security issue: Exposed sensitive files (Exposed: Git repository metadata)"),
    (change("security", "finding_resolved", "vulnerable-library:jQuery", ["GHSA-1: jQuery 3.4.0"], None),
     "Security issue resolved: Known vulnerability in jQuery"),
    (change("security", "expiring", "certificate", 31.0, 13.5), "Certificate expires in 13.5 days"),
    (change("security", "expired", "certificate", 0.5, -1.0), "Certificate expired"),
    (change("security", "issuer_changed", "certificate", "Let's Encrypt", "DigiCert Inc"),
     "Certificate issuer changed from Let's Encrypt to DigiCert Inc"),
    (change("security", "untrusted", "certificate", True, False, error="self-signed certificate"),
     "Certificate no longer trusted: self-signed certificate"),
    (change("security", "downgraded", "tls_protocol", "TLSv1.3", "TLSv1.2"),
     "TLS protocol downgraded from TLSv1.3 to TLSv1.2"),
]


@pytest.mark.parametrize(("given", "sentence"), CASES, ids=[s for _, s in CASES])
def test_each_kind_of_change_reads_as_one_sentence(given: dict[str, Any], sentence: str) -> None:
    assert describe_change(given) == sentence


def test_no_raw_json_or_null_ever_reaches_the_sentence() -> None:
    for given, _ in CASES:
        text = describe_change(given)
        assert "{" not in text and "null" not in text and "None" not in text and "->" not in text


def test_finding_ids_become_titles() -> None:
    assert finding_title("x-frame-options") == "Clickjacking protection (X-Frame-Options)"
    assert finding_title("tls-legacy-tlsv1.0") == "Legacy TLS 1.0 support"
    assert finding_title("some-new-test") == "Some new test"  # unknown ids still read as words


def test_hostile_values_are_one_short_line() -> None:
    text = describe_change(change("technology", "upgraded", "x\n" * 500, "1\r\n2", "9" * 10_000))
    assert "\n" not in text and "\r" not in text and len(text) < 300


def test_an_alert_reads_as_its_first_change_and_how_many_more_and_says_when_it_is_resolved() -> None:
    summaries = [{**change("availability", "down", "site"), "summary": "Site down: HTTP 503", "scan_id": "s1"},
                 {**change("technology", "added", "Nginx"), "scan_id": "s1"},
                 {**change("availability", "down", "site"), "scan_id": "s2"}]  # a folded repeat, not a change more
    alert = {"status": "triggered", "changes": summaries}
    assert describe_alert(alert) == "Site down: HTTP 503 and 1 more change"
    assert describe_alert({**alert, "status": "resolved"}) == "Resolved: Site down: HTTP 503 and 1 more change"
    assert describe_alert(alert, resolved=True).startswith("Resolved: ")
    assert alert_title("Shop", summaries[:1]) == "Shop — Site down: HTTP 503"
