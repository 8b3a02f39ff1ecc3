"""What the server said in the clear during a handshake, read from the bytes it sent (RFC 5246 / 8446).

OpenSSL (through pyOpenSSL) does not tell a client the size of the server's ephemeral DH group, whether
the server agreed to compression, or whether it sent the secure-renegotiation extension. Those are in the
ServerHello and ServerKeyExchange messages, which travel unencrypted before ChangeCipherSpec in TLS <= 1.2;
the handshake code already holds every byte the server sent, so it keeps the first few kilobytes and this
module reads them. Bounded and forgiving: anything malformed or cut short just leaves a field unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_HANDSHAKE, _CHANGE_CIPHER_SPEC, _ALERT = 22, 20, 21
_SERVER_HELLO, _SERVER_KEY_EXCHANGE = 2, 12
RENEGOTIATION_INFO, HEARTBEAT = 0xFF01, 0x000F
# RFC 8422 / IANA named groups -> OpenSSL's names, as the rating's group table has them.
NAMED_GROUPS = {0x0013: "prime192v1", 0x0015: "secp224r1", 0x0017: "prime256v1", 0x0018: "secp384r1",
                0x0019: "secp521r1", 0x001D: "x25519", 0x001E: "x448", 0x0100: "ffdhe2048", 0x0101: "ffdhe3072",
                0x0102: "ffdhe4096", 0x0103: "ffdhe6144", 0x0104: "ffdhe8192"}
MAX_KEPT = 16384  # the server's first flight up to its key exchange; certificates make most of it


@dataclass
class ServerFlight:
    version: int | None = None  # the ServerHello's version field (0x0300 SSLv3 .. 0x0303 TLS 1.2)
    cipher_code: int | None = None  # the suite the server chose, by its IANA number
    alert: bool = False  # the server answered with an alert record
    compression: int | None = None  # the ServerHello's compression method: 0 none, 1 DEFLATE
    extensions: list[int] = field(default_factory=list)  # ServerHello extension types
    dh_bits: int | None = None  # size of the prime of an ephemeral DH group (ServerKeyExchange)
    curve: str | None = None  # named curve of an ephemeral ECDH key (ServerKeyExchange)


def server_hello_complete(data: bytes) -> bool:
    """Enough of the server's answer to judge a ClientHello: its ServerHello, or an alert."""
    return data[:1] == bytes([_ALERT]) or any(kind == _SERVER_HELLO for kind, _ in _messages(data[:MAX_KEPT]))


def _messages(data: bytes) -> list[tuple[int, bytes]]:
    """Handshake messages from the records before ChangeCipherSpec (messages may span records)."""
    stream = bytearray()
    offset = 0
    while offset + 5 <= len(data):
        kind, length = data[offset], int.from_bytes(data[offset + 3:offset + 5], "big")
        if kind == _CHANGE_CIPHER_SPEC:
            break
        if kind == _HANDSHAKE:
            stream += data[offset + 5:offset + 5 + length]
        offset += 5 + length
    messages, offset = [], 0
    while offset + 4 <= len(stream):
        kind, length = stream[offset], int.from_bytes(stream[offset + 1:offset + 4], "big")
        body = bytes(stream[offset + 4:offset + 4 + length])
        if len(body) < length:
            break
        messages.append((kind, body))
        offset += 4 + length
    return messages


def read_server_flight(data: bytes, *, cipher: str = "") -> ServerFlight:
    """`cipher`: the suite OpenSSL negotiated (its name says which key exchange the message carries)."""
    flight = ServerFlight(alert=data[:1] == bytes([_ALERT]))
    for kind, body in _messages(data[:MAX_KEPT]):
        if kind == _SERVER_HELLO and len(body) >= 38:
            flight.version = int.from_bytes(body[:2], "big")
            at = 34 + 1 + body[34]  # version, random, then the session id
            if at + 3 > len(body):
                continue
            flight.cipher_code = int.from_bytes(body[at:at + 2], "big")
            flight.compression = body[at + 2]
            at += 3
            end = min(len(body), at + 2 + int.from_bytes(body[at:at + 2], "big")) if at + 2 <= len(body) else at
            at += 2
            while at + 4 <= end:
                flight.extensions.append(int.from_bytes(body[at:at + 2], "big"))
                at += 4 + int.from_bytes(body[at + 2:at + 4], "big")
        elif kind == _SERVER_KEY_EXCHANGE and body:
            if cipher.startswith(("DHE-", "EDH-", "ADH-")) and len(body) >= 2:
                prime = body[2:2 + int.from_bytes(body[:2], "big")]
                flight.dh_bits = int.from_bytes(prime, "big").bit_length() or None
            elif cipher.startswith(("ECDHE-", "AECDH-")) and len(body) >= 3 and body[0] == 3:  # named_curve
                code = int.from_bytes(body[1:3], "big")
                flight.curve = NAMED_GROUPS.get(code, f"0x{code:04x}")
    return flight
