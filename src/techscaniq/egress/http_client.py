"""An httpx client whose every connection passes an address policy (notification channels)."""

from __future__ import annotations

import ssl

import httpcore
import httpx

from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.egress.backend import GuardedBackend


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a pool that connects through GuardedBackend (httpx takes no network backend
    itself; httpcore's pool, which it wraps, does). No proxy from the environment: a proxy would be the
    only address the guard saw."""

    def __init__(self, policy: AddressPolicy, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=GuardedBackend(policy), max_connections=100,
            max_keepalive_connections=20, keepalive_expiry=5.0,
        )


def guarded_client(policy: AddressPolicy, ssl_context: ssl.SSLContext, user_agent: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, ssl_context), headers={"User-Agent": user_agent}, trust_env=False,
    )
