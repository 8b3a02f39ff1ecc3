"""The TLS rating against real local TLS servers with weak configurations made in the test.

Each server is a Python `ssl` server on loopback (port 0) with a certificate issued at test time; the
probe makes real handshakes with pyOpenSSL. This OpenSSL cannot offer SSLv2 (so it is "not testable") or
SSLv3, which the probe asks for with a hand-built ClientHello (test_tls_legacy_servers.py serves it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.analysis.conftest import Serve
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite
from tests.support.tls_servers import MISSING_ISSUER_URL, StaplingServer

from techscaniq.domain.tls_rating import CertificateFacts, ProtocolSupport, TLSProbe, TLSRating
from techscaniq.egress.address_guard import AddressPolicy, BlockedAddressError
from techscaniq.scanning.security.tls_rater import TLSRater
from techscaniq.scanning.security.tls_rating import PROTOCOL_POINTS, rate, rating_findings
from techscaniq.scanning.security.tls_scan import ProbeLimits, classify


async def rated(test_ca: TestCA, site: LocalSite, **options: Any) -> TLSRating:
    rater = TLSRater(ca_file=str(test_ca.pem_path), cache_seconds=0, **options)
    rating = await rater.rate("127.0.0.1", site.port, address="127.0.0.1", hsts_max_age=None)
    assert rating is not None
    return rating


def results(rating: TLSRating) -> dict[str, str]:
    return {finding.test: finding.result for finding in rating_findings(rating)}


async def test_a_good_configuration_gets_a_and_a_plus_with_hsts(serve: Serve, test_ca: TestCA) -> None:
    rating = await rated(test_ca, await serve())
    probe = rating.probe
    assert (rating.grade, rating.caps) == ("A", [])
    assert (rating.protocol_score, rating.key_exchange_score, rating.cipher_score, rating.score) == (100, 90, 90, 93)
    outcomes = {support.protocol: support.outcome for support in probe.protocols}
    assert outcomes == {"SSLv2": "not_testable", "SSLv3": "rejected", "TLSv1.0": "rejected",
                        "TLSv1.1": "rejected", "TLSv1.2": "accepted", "TLSv1.3": "accepted"}
    tls12 = probe.support("TLSv1.2")
    assert tls12 is not None and tls12.server_preference is True
    assert {suite.name for suite in tls12.ciphers} == {
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"}
    assert probe.certificate is not None and probe.certificate.trusted and probe.certificate.key_bits == 2048
    found = results(rating)
    assert found["tls-rating"] == "tls-rating-a" and found["tls-forward-secrecy"] == "tls-forward-secrecy"
    assert found["tls-chain"] == "tls-chain-complete" and found["tls-ocsp-stapling"] == "tls-ocsp-not-stapled"
    assert found["tls-protocol-tlsv1.0"] == "tls-protocol-not-offered"
    again = rate(probe, hsts_max_age=180 * 86400)
    assert again is not None and again.grade == "A+"
    shorter = rate(probe, hsts_max_age=180 * 86400 - 1)
    assert shorter is not None and shorter.grade == "A"


WEAK = [
    pytest.param({"versions": ("TLSv1", "TLSv1"), "ciphers": "ECDHE+AES:!aNULL"}, "C",
                 {"tls-protocol-tlsv1.0": "tls-protocol-offered", "tls-protocol-tlsv1.2": "tls-protocol-not-offered",
                  "tls-aead": "tls-no-aead"},
                 ["neither TLS 1.2 nor TLS 1.3", "TLS 1.0 or TLS 1.1 is accepted"], id="tls1.0-only"),
    pytest.param({"key_bits": 1024}, "B", {"tls-key-strength": "tls-key-weak"},
                 ["RSA 1024 bits (under 2048)"], id="rsa-1024"),
    pytest.param({"versions": ("TLSv1_2", "TLSv1_2"), "ciphers": "AES128-GCM-SHA256:AES256-GCM-SHA384"}, "B",
                 {"tls-forward-secrecy": "tls-no-forward-secrecy", "tls-protocol-tlsv1.3": "tls-protocol-not-offered"},
                 ["no forward secrecy"], id="no-forward-secrecy"),
    pytest.param({"days": 3000}, "T", {"tls-certificate-lifetime": "tls-certificate-lifetime-over-398-days"},
                 ["valid for 3000 days"], id="3000-day-certificate"),
    pytest.param({"via_intermediate": True, "send_intermediate": False}, "B", {"tls-chain": "tls-chain-incomplete"},
                 ["chain is incomplete"], id="incomplete-chain"),
    pytest.param({"via_intermediate": True}, "A", {"tls-chain": "tls-chain-complete"}, [], id="complete-chain"),
]


@pytest.mark.parametrize(("config", "grade", "expected", "reasons"), WEAK)
async def test_weak_configurations_get_their_grade_and_findings(
        serve: Serve, test_ca: TestCA, config: dict[str, Any], grade: str, expected: dict[str, str],
        reasons: list[str]) -> None:
    rating = await rated(test_ca, await serve(**config))
    assert rating.grade == grade, rating.caps
    found = results(rating)
    assert {test: found.get(test) for test in expected} == expected
    caps = [cap.reason for cap in rating.caps]
    assert all(any(reason in cap for cap in caps) for reason in reasons), caps
    if not reasons:
        assert caps == []
    failed = {finding.test for finding in rating_findings(rating) if not finding.passed}
    assert ("tls-rating" in failed) is (grade not in ("A+", "A"))


async def test_findings_carry_the_details_a_reader_needs(serve: Serve, test_ca: TestCA) -> None:
    # The 3000-day certificate is otherwise fine: T, with the grade the configuration would have.
    long_lived = await rated(test_ca, await serve(days=3000))
    assert (long_lived.grade, long_lived.grade_ignoring_trust) == ("T", "A")
    incomplete = await rated(test_ca, await serve(via_intermediate=True, send_intermediate=False))
    certificate = incomplete.probe.certificate
    assert certificate is not None and certificate.trusted and not certificate.chain_complete
    assert certificate.missing_issuer_url == MISSING_ISSUER_URL and len(certificate.sent) == 1


async def test_a_stapled_ocsp_response_is_seen(test_ca: TestCA) -> None:
    server = StaplingServer(test_ca)
    try:
        rater = TLSRater(ca_file=str(test_ca.pem_path), cache_seconds=0)
        rating = await rater.rate("127.0.0.1", server.port, address="127.0.0.1", hsts_max_age=None)
    finally:
        server.close()
    assert rating is not None and rating.probe.certificate is not None and rating.probe.certificate.ocsp_stapled
    assert results(rating)["tls-ocsp-stapling"] == "tls-ocsp-stapled"


async def test_cipher_enumeration_is_bounded(serve: Serve, test_ca: TestCA) -> None:
    site = await serve(versions=("TLSv1_2", "TLSv1_2"), ciphers="ALL:!aNULL:!eNULL")
    rating = await rated(test_ca, site, limits=ProbeLimits(max_suites=3))
    tls12 = rating.probe.support("TLSv1.2")
    assert tls12 is not None and len(tls12.ciphers) == 3 and tls12.ciphers_truncated
    assert rating.probe.handshakes <= 1 + 5 * 5  # reference + per protocol: suites, the end, the preference


async def test_the_probe_goes_through_the_address_guard(serve: Serve, test_ca: TestCA) -> None:
    site = await serve()
    before = site.connections
    rater = TLSRater(AddressPolicy(), ca_file=str(test_ca.pem_path), cache_seconds=0)
    with pytest.raises(BlockedAddressError):
        await rater.rate("127.0.0.1", site.port, address="127.0.0.1", hsts_max_age=None)
    assert site.connections == before


async def test_a_probe_is_reused_for_its_cache_time(serve: Serve, test_ca: TestCA) -> None:
    site = await serve()
    rater = TLSRater(AddressPolicy(allow_private=True), ca_file=str(test_ca.pem_path), cache_seconds=3600)
    first = await rater.rate("127.0.0.1", site.port, address=None, hsts_max_age=None)
    connections = site.connections
    second = await rater.rate("127.0.0.1", site.port, address=None, hsts_max_age=31536000)
    assert first is not None and second is not None and not first.cached and second.cached
    assert site.connections == connections  # no handshake the second time
    assert second.grade == "A+"  # the grade still follows this scan's HSTS


# ---- caps no local server here can show (this OpenSSL serves no SSLv3, RC4 or export) -------------------


def probe_with(suites: dict[str, list[tuple[str, int]]], negotiated: str, **certificate: Any) -> TLSProbe:
    now = datetime.now(UTC)
    facts = {"key_type": "RSA", "key_bits": 2048, "signature_algorithm": "sha256WithRSAEncryption",
             "signature_hash": "sha256", "not_before": now - timedelta(days=1), "not_after": now + timedelta(days=89),
             "lifetime_days": 90.0, "days_to_expiry": 89.0, "chain_complete": True, "chain_in_order": True,
             "trusted": True, "hostname_match": True, "ocsp_stapled": False, **certificate}
    return TLSProbe(
        host="example.com", port=443, probed_at=now, negotiated_cipher=negotiated, negotiated_group="x25519",
        negotiated_protocol=max(suites, key=list(PROTOCOL_POINTS).index),
        protocols=[ProtocolSupport(protocol=protocol, outcome="accepted",
                                   ciphers=[classify(name, bits) for name, bits in names])
                   for protocol, names in suites.items()],
        certificate=CertificateFacts(**facts))


MODERN = [("ECDHE-RSA-AES128-GCM-SHA256", 128), ("ECDHE-RSA-AES256-GCM-SHA384", 256)]


@pytest.mark.parametrize(("suites", "negotiated", "certificate", "grade", "reason"), [
    ({"TLSv1.2": MODERN}, MODERN[0][0], {}, "A", None),
    ({"SSLv3": MODERN, "TLSv1.2": MODERN}, MODERN[0][0], {}, "C", "SSL 3.0"),
    ({"SSLv2": MODERN, "TLSv1.2": MODERN}, MODERN[0][0], {}, "F", "SSL 2.0"),
    ({"TLSv1.2": [*MODERN, ("ECDHE-RSA-RC4-SHA", 128)]}, MODERN[0][0], {}, "B", "RC4"),
    ({"TLSv1.2": [("DES-CBC3-SHA", 112), *MODERN]}, "DES-CBC3-SHA", {}, "C", "64-bit block"),
    ({"TLSv1.2": [*MODERN, ("AECDH-AES128-SHA", 128)]}, MODERN[0][0], {}, "F", "anonymous"),
    ({"TLSv1.2": [*MODERN, ("NULL-SHA256", 0)]}, MODERN[0][0], {}, "F", "NULL"),
    ({"TLSv1.2": MODERN}, MODERN[0][0], {"key_bits": 512}, "F", "under 1024"),
    ({"TLSv1.2": MODERN}, MODERN[0][0], {"signature_hash": "md5"}, "F", "MD5"),
    ({"TLSv1.2": MODERN}, MODERN[0][0], {"trusted": False, "trust_error": "self-signed certificate"}, "T",
     "not trusted"),
    ({"TLSv1.2": MODERN}, MODERN[0][0], {"days_to_expiry": -1.0}, "T", "expired"),
    ({"TLSv1.2": MODERN}, MODERN[0][0], {"hostname_match": False}, "M", "does not name this host"),
])
def test_caps_of_the_rating_guide(suites: dict[str, list[tuple[str, int]]], negotiated: str,
                                  certificate: dict[str, Any], grade: str, reason: str | None) -> None:
    rating = rate(probe_with(suites, negotiated, **certificate))
    assert rating is not None and rating.grade == grade, rating.caps
    if reason is None:
        assert rating.caps == []
    else:
        assert any(reason in cap.reason for cap in rating.caps), rating.caps


def test_score_is_the_guide_weighting() -> None:
    # TLS 1.0 + 1.2 -> protocol 95; RSA 2048 -> 90; 3DES (112) to AES-256 -> (20 + 100) / 2 = 60.
    rating = rate(probe_with({"TLSv1.0": [("DES-CBC3-SHA", 112)], "TLSv1.2": MODERN}, MODERN[1][0]))
    assert rating is not None
    assert (rating.protocol_score, rating.key_exchange_score, rating.cipher_score) == (95, 90, 60)
    assert rating.score == round(0.3 * 95 + 0.3 * 90 + 0.4 * 60)  # 80: an A by score, capped at B (TLS 1.0)
    assert rating.grade == "B"
