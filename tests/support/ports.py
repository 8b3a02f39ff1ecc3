"""A free TCP port, for servers that must be told their port before they start (aiosmtpd, subprocesses)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
