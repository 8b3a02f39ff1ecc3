"""The address guard for blocking libraries (Apprise and the hundred clients under its plugins).

Their connections cannot be routed through our backend, so a Python audit hook (PEP 578) vets every
`socket.connect` and `socket.sendto` made while a guard is active in the current context. The hook sees
the address actually connected to (after the library's own resolution), so rebinding cannot slip past
it. Outside `guarded(...)` the hook returns at once; it costs one set lookup per audit event.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from techscaniq.egress.address_guard import AddressPolicy, BlockedAddressError

_EVENTS = frozenset({"socket.connect", "socket.sendto"})


@dataclass
class Guard:
    """The policy in force, and every connection it refused (a library may swallow the exception)."""

    policy: AddressPolicy
    refused: list[str] = field(default_factory=list)


_active: ContextVar[Guard | None] = ContextVar("techscaniq_egress_guard", default=None)
_installed = False


@contextlib.contextmanager
def guarded(policy: AddressPolicy) -> Iterator[Guard]:
    """Vet every connection made in this context (this thread, or tasks and threads it starts with
    a copy of its context) against `policy`."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
    guard = Guard(policy)
    token = _active.set(guard)
    try:
        yield guard
    finally:
        _active.reset(token)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _EVENTS:
        return
    guard = _active.get()
    if guard is None:
        return
    sock, address = args[0], args[1]
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        _refuse(guard, f"refusing a {getattr(sock, 'family', 'non-IP')!s} connection: only TCP/UDP over IP")
    host = str(address[0])
    try:
        addresses = [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:  # a name passed straight to connect(): vet what it resolves to
        addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, address[1])]
    for resolved in addresses:
        if (refusal := guard.policy.refusal(host, resolved)) is not None:
            _refuse(guard, refusal)


def _refuse(guard: Guard, refusal: str) -> None:
    guard.refused.append(refusal)
    raise BlockedAddressError(refusal)
