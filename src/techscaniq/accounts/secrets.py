"""Passwords hashed with argon2id; random tokens (sessions, links, API keys) kept only as their sha256.

A token has 256 random bits, so a fast hash is enough to make the stored value useless to a thief; a
password is guessable, so it gets the memory-hard hash. argon2 takes tens of milliseconds of CPU: it runs
in a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000  # argon2 hashes any length; this bounds the work a request can ask for


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_problem(password: str) -> str | None:
    """Why `password` is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must have at most {MAX_PASSWORD_LENGTH} characters"
    return None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    if password_hash is None or len(password) > MAX_PASSWORD_LENGTH:
        # Hash anyway: an unknown account answers as slowly as a known one (no account discovery by timing).
        await asyncio.to_thread(_HASHER.hash, "x")
        return False
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
