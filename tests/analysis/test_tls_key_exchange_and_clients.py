"""Key exchange strength (DHE group size), weak-suite caps and client simulation, against real local TLS
servers made in the test (Python `ssl` on loopback, port 0, security level 0 so weak setups are served).

What no server on this machine can be made to do is rated from a built probe and says so: a DH group
under 1024 bits (this OpenSSL refuses to load one), a server without RFC 5746 renegotiation_info
(every OpenSSL server sends it). 3DES, RC4, export suites and SSLv3 neither OpenSSL here serves or offers
(tests/analysis/test_tls_rating.py rates those caps from built probes).
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.analysis.conftest import Serve
from tests.analysis.test_tls_rating import MODERN, probe_with, rated, results
from tests.support.certificates import TestCA

from techscaniq.domain.tls_rating import TLSRating
from techscaniq.scanning.security.tls_rating import rate, rating_findings

DHE_AND_ECDHE = "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


def caps(rating: TLSRating) -> list[str]:
    return [cap.reason for cap in rating.caps]


async def test_a_1024_bit_dh_group_caps_at_b_and_lowers_key_exchange(serve: Serve, test_ca: TestCA) -> None:
    rating = await rated(test_ca, await serve(versions=("TLSv1_2", "TLSv1_2"), ciphers=DHE_AND_ECDHE,
                                              dh_bits=1024))
    tls12 = rating.probe.support("TLSv1.2")
    assert tls12 is not None
    by_name = {suite.name: suite for suite in tls12.ciphers}
    assert by_name["DHE-RSA-AES128-GCM-SHA256"].dh_bits == 1024
    assert by_name["ECDHE-RSA-AES128-GCM-SHA256"].group == "x25519"
    assert rating.grade == "B" and any("1024-bit DH group" in reason for reason in caps(rating)), rating.caps
    assert (rating.key_exchange_bits, rating.key_exchange_score) == (1024, 80)
    found = {finding.test: finding for finding in rating_findings(rating)}
    assert found["tls-key-exchange"].result == "tls-key-exchange-weak-dh"
    assert found["tls-key-exchange"].severity == "high" and found["tls-key-exchange"].value == "DH 1024"


async def test_a_2048_bit_dh_group_keeps_an_a(serve: Serve, test_ca: TestCA) -> None:
    rating = await rated(test_ca, await serve(versions=("TLSv1_2", "TLSv1_3"), ciphers=DHE_AND_ECDHE,
                                              dh_bits=2048))
    tls12 = rating.probe.support("TLSv1.2")
    assert tls12 is not None and {suite.dh_bits for suite in tls12.ciphers} == {2048, None}
    assert (rating.grade, rating.caps, rating.key_exchange_bits) == ("A", [], 2048)
    assert results(rating)["tls-key-exchange"] == "tls-key-exchange-strong"


def test_a_dh_group_under_1024_bits_is_an_f() -> None:
    # No server here: this OpenSSL refuses to load DH parameters under 1024 bits ("dh key too small").
    probe = probe_with({"TLSv1.2": MODERN}, MODERN[0][0])
    probe.protocols[0].ciphers[0].dh_bits = 512
    rating = rate(probe)
    assert rating is not None and rating.grade == "F" and "Logjam" in caps(rating)[0]
    assert rating.key_exchange_score == 40  # 512 bits: "< 1024" in the guide's key exchange table


async def test_secure_renegotiation_is_read_from_the_server_hello(serve: Serve, test_ca: TestCA) -> None:
    rating = await rated(test_ca, await serve())
    assert rating.probe.secure_renegotiation is True
    assert results(rating)["tls-secure-renegotiation"] == "tls-secure-renegotiation-supported"
    # A server without renegotiation_info cannot be made here (every OpenSSL server sends it): built probe.
    probe = rating.probe.model_copy(update={"secure_renegotiation": False})
    without = rate(probe)
    assert without is not None and without.grade == "A-" and "RFC 5746" in caps(without)[0]


@pytest.mark.parametrize(("config", "grade", "reason", "weak"), [
    pytest.param({"ciphers": "ECDHE+AESGCM:NULL-SHA256"}, "F", "NULL", "NULL-SHA256", id="null-suite"),
    pytest.param({"ciphers": "ECDHE+AESGCM:ADH-AES128-GCM-SHA256", "dh_bits": 2048}, "F", "anonymous",
                 "ADH-AES128-GCM-SHA256", id="anonymous-suite"),
])
async def test_weak_suites_a_real_server_offers_cap_the_grade(serve: Serve, test_ca: TestCA, config: dict[str, Any],
                                                              grade: str, reason: str, weak: str) -> None:
    rating = await rated(test_ca, await serve(**config))
    assert rating.grade == grade and any(reason in cap for cap in caps(rating)), rating.caps
    finding = next(item for item in rating_findings(rating) if item.test == "tls-weak-ciphers")
    assert weak in finding.data["suites"]


def clients(rating: TLSRating) -> dict[str, tuple[str | None, str | None, str | None]]:
    return {client.client.split(" (")[0]: (client.protocol, client.cipher, client.reason) for client in rating.clients}


async def test_client_simulation_follows_the_probe(serve: Serve, test_ca: TestCA) -> None:
    modern = await rated(test_ca, await serve())
    seen = clients(modern)
    assert seen["Modern browser"][0] == "TLSv1.3" and seen["Modern browser"][1] in (
        "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")
    # The server imposes its order (AES-256-GCM first): every TLS 1.2 client gets it if it offers it.
    assert seen["Android 4.4"] == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", None)
    assert seen["Java 8"] == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", None)  # no AES-256 without the policy
    handshakes = modern.probe.handshakes
    assert rate(modern.probe) is not None and modern.probe.handshakes == handshakes  # no handshake of its own

    old = clients(await rated(test_ca, await serve(versions=("TLSv1", "TLSv1"), ciphers="ECDHE+AES:!aNULL")))
    assert old["Modern browser"] == (None, None, "no protocol in common")
    assert old["Java 8"] == ("TLSv1.0", "ECDHE-RSA-AES128-SHA", None)
    assert old["OpenSSL 1.0.2"] == ("TLSv1.0", "ECDHE-RSA-AES256-SHA", None)

    dhe = clients(await rated(test_ca, await serve(versions=("TLSv1_2", "TLSv1_2"),
                                                   ciphers="DHE-RSA-AES128-GCM-SHA256", dh_bits=2048)))
    assert dhe["Modern browser"] == (None, None, "no TLSv1.2 suite in common")  # browsers dropped DHE
    assert dhe["Java 8"] == ("TLSv1.2", "DHE-RSA-AES128-GCM-SHA256", None)
