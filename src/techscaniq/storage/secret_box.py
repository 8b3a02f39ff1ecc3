"""Channel secrets (SMTP passwords, webhook URLs and credentials, Slack and Apprise URLs) are encrypted in
the database: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`), stored as `enc:v1:<token>`.

The key: SECRETS_ENCRYPTION_KEY (one or more comma-separated Fernet keys; the first encrypts, every one
decrypts, which is how keys are rotated); unset, a key derived from JWT_SECRET_KEY (replicas already share
it); with neither, one generated once into DATA_DIR/secrets_key (mode 0600), as the embedded JWT key is.
Secrets stored before encryption existed read as they are and are encrypted when next written, or all at
once by `techscaniq secrets rotate`."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from techscaniq.private_files import generated_key
from techscaniq.settings import Settings

PREFIX = "enc:v1:"


class SecretDecryptionError(ValueError):
    """A stored secret does not open with any configured key."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise ValueError(
                "SECRETS_ENCRYPTION_KEY: each key must be 32 url-safe base64-encoded bytes "
                "(make one with `techscaniq secrets new-key`)"
            ) from None
        self.primary = keys[0]

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secrets_encryption_key is not None:
            return cls([key.strip() for key in settings.secrets_encryption_key.get_secret_value().split(",")
                        if key.strip()])
        if settings.jwt_secret_key is not None:
            return cls([derived_key(settings.jwt_secret_key.get_secret_value())])
        return cls([generated_key(settings.data_dir / "secrets_key", lambda: Fernet.generate_key().decode())])

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before secrets were encrypted
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretDecryptionError(
                "a stored secret does not open with the configured keys: keep the old key in "
                "SECRETS_ENCRYPTION_KEY (new,old) until `techscaniq secrets rotate` has run"
            ) from None


def derived_key(jwt_secret: str) -> str:
    """The Fernet key HKDF-SHA256 derives from JWT_SECRET_KEY (its own purpose label: not the JWT key)."""
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"techscaniq channel secrets v1")
    return base64.urlsafe_b64encode(material.derive(jwt_secret.encode())).decode()
