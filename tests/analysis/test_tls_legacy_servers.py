"""SSL 3.0 and RC4, which neither OpenSSL here can offer or serve, against a real server that still speaks
them: NSS's selfserv on loopback (tests/support/nss_server.py). The probe asks with hand-built ClientHellos
(tls_raw_hello.py) and reads the server's ServerHello."""

from __future__ import annotations

from tests.analysis.test_tls_rating import results
from tests.support.certificates import TestCA
from tests.support.nss_server import NSSServer

from techscaniq.scanning.security.tls_rater import TLSRater


async def test_a_server_still_speaking_ssl3_and_rc4_is_found_and_capped(test_ca: TestCA) -> None:
    # RC4-SHA, AES128-SHA and ECDHE-RSA-AES128-GCM-SHA256, SSL 3.0 to TLS 1.2.
    server = NSSServer(test_ca, versions="ssl3:tls1.2", ciphers="n:002F:C02F")
    try:
        rater = TLSRater(ca_file=str(test_ca.pem_path), cache_seconds=0)
        rating = await rater.rate("127.0.0.1", server.port, address="127.0.0.1", hsts_max_age=None)
    finally:
        server.close()
    assert rating is not None
    probe = rating.probe
    ssl3 = probe.support("SSLv3")
    assert ssl3 is not None and ssl3.outcome == "accepted" and "hand-built" in ssl3.detail
    assert {suite.name for suite in ssl3.ciphers} == {"RC4-SHA", "AES128-SHA"}
    tls12 = probe.support("TLSv1.2")
    assert tls12 is not None and "RC4-SHA" in {suite.name for suite in tls12.ciphers}
    assert "ECDHE-RSA-AES128-GCM-SHA256" in {suite.name for suite in tls12.ciphers}
    caps = [cap.reason for cap in rating.caps]
    assert rating.grade == "C" and any("SSL 3.0" in cap for cap in caps) and any("RC4" in cap for cap in caps)
    found = results(rating)
    assert found["tls-protocol-sslv3"] == "tls-protocol-offered"
    assert found["tls-weak-ciphers"] == "tls-weak-ciphers-accepted"
