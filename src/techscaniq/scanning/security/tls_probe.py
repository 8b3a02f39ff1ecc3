"""Does the server still accept TLS 1.0 / 1.1? One handshake per protocol, pinned to that version.

The local OpenSSL may refuse to offer an old protocol at all (compiled out, or forbidden by the system
policy). Then the answer is "not testable", never "rejected": a refusal on our side says nothing about
the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from dataclasses import dataclass
from enum import StrEnum

from techscaniq.domain.security import SecurityFinding

CATEGORY = "tls"


class ProbeOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NOT_TESTABLE = "not_testable"
    UNREACHABLE = "unreachable"


@dataclass
class LegacyProbe:
    protocol: str  # "TLSv1.0" or "TLSv1.1"
    outcome: ProbeOutcome
    detail: str = ""


_LEGACY = (("TLSv1.0", "TLSv1"), ("TLSv1.1", "TLSv1_1"))


def _pinned_context(version_name: str) -> ssl.SSLContext | None:
    """A client context offering only this protocol, or None when this OpenSSL cannot offer it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        version = getattr(ssl.TLSVersion, version_name, None)
        if version is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # we ask about protocol support, not trust
        try:
            context.minimum_version = version
            context.maximum_version = version
            # Security level 0: at level 1+ OpenSSL 3 refuses the SHA-1 signatures TLS 1.0/1.1 need.
            context.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            return None
    return context


_LOCAL_REFUSALS = ("no protocols available", "unsupported protocol", "no ciphers available")


async def probe_protocol(host: str, port: int, version_name: str, *, server_hostname: str | None,
                         handshake_timeout: float) -> ProbeOutcome | tuple[ProbeOutcome, str]:
    context = _pinned_context(version_name)
    if context is None:
        return ProbeOutcome.NOT_TESTABLE, "this OpenSSL cannot offer the protocol"
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=server_hostname or None),
            handshake_timeout,
        )
    except ssl.SSLError as exc:
        message = str(exc).lower()
        if any(reason in message for reason in _LOCAL_REFUSALS) and "alert" not in message:
            return ProbeOutcome.NOT_TESTABLE, str(exc)
        return ProbeOutcome.REJECTED, str(exc)
    except (TimeoutError, ConnectionError) as exc:
        # A reset during the handshake is how many servers turn an old protocol away.
        if isinstance(exc, ConnectionResetError):
            return ProbeOutcome.REJECTED, "connection reset during handshake"
        return ProbeOutcome.UNREACHABLE, str(exc) or type(exc).__name__
    except OSError as exc:
        return ProbeOutcome.UNREACHABLE, str(exc)
    writer.close()
    with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    return ProbeOutcome.ACCEPTED


async def probe_legacy_tls(host: str, port: int, *, server_hostname: str | None = None,
                           handshake_timeout: float = 5.0) -> list[LegacyProbe]:
    """Probe TLS 1.0 and 1.1 concurrently. `host` should be the address the fetch connected to."""
    async def one(label: str, version_name: str) -> LegacyProbe:
        outcome = await probe_protocol(host, port, version_name, server_hostname=server_hostname,
                                       handshake_timeout=handshake_timeout)
        if isinstance(outcome, tuple):
            return LegacyProbe(label, outcome[0], outcome[1][:300])
        return LegacyProbe(label, outcome)

    return list(await asyncio.gather(*(one(label, name) for label, name in _LEGACY)))


def legacy_findings(probes: list[LegacyProbe]) -> list[SecurityFinding]:
    found = []
    for probe in probes:
        accepted = probe.outcome is ProbeOutcome.ACCEPTED
        description = {
            ProbeOutcome.ACCEPTED: f"The server still accepts {probe.protocol}",
            ProbeOutcome.REJECTED: f"The server refuses {probe.protocol}",
            ProbeOutcome.NOT_TESTABLE: f"{probe.protocol} cannot be tested from here: {probe.detail}",
            ProbeOutcome.UNREACHABLE: f"{probe.protocol} probe could not connect: {probe.detail}",
        }[probe.outcome]
        found.append(SecurityFinding(
            test=f"tls-legacy-{probe.protocol.lower()}", result=f"tls-legacy-protocol-{probe.outcome.value}",
            passed=not accepted, description=description, category=CATEGORY,
            severity="high" if accepted else None, value=probe.protocol, data={"detail": probe.detail},
        ))
    return found
