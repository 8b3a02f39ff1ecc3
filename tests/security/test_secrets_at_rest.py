"""Channel secrets are encrypted in the database: nothing a tenant configured as a secret is readable in
the stored rows, old plaintext rows still load and are encrypted by a rewrite, and keys rotate (new,old)
without losing a secret. Real SQLite files, read back raw with the sqlite3 module."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from techscaniq.domain.common import REVEAL_SECRETS
from techscaniq.domain.config import MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

SECRETS = ["https://hooks.example.test/T0/B0/slack-credential", "smtp-password-77", "https://hook.test/x?token=t0k3n",
           "hmac-signing-key-1", "ntfy://user:apprise-password@ntfy.example/alerts"]


def config_with_every_secret() -> MonitoringConfig:
    return MonitoringConfig.model_validate({
        "id": "cfg-secret", "organization_id": "org-1", "name": "shop", "url": "https://shop.example/",
        "schedule": {"type": "interval", "expression": "1h"},
        "alert_rules": [{"id": "r1", "name": "all", "notification_channels": [
            {"type": "slack", "webhook_url": SECRETS[0]},
            {"type": "email", "recipients": ["a@example.com"], "smtp_host": "mail.example",
             "smtp_password": SECRETS[1]},
            {"type": "webhook", "url": SECRETS[2], "secret": SECRETS[3]},
            {"type": "apprise", "urls": [SECRETS[4]]},
        ]}],
    })


def raw_documents(settings: Settings) -> str:
    with sqlite3.connect(settings.sqlite_path) as db:
        return "\n".join(row[0] for row in db.execute("SELECT document FROM monitoring_configs"))


def channel_secrets(config: MonitoringConfig) -> str:
    return json.dumps(config.model_dump(mode="json", context=REVEAL_SECRETS))



async def test_no_secret_is_readable_in_the_stored_rows(storage: SqlStorage, settings: Settings) -> None:
    await storage.configs.add(config_with_every_secret(), next_run_at=None)
    raw = raw_documents(settings)
    for secret in SECRETS:
        assert secret not in raw
    assert raw.count("enc:v1:") == len(SECRETS)
    loaded = await storage.configs.get("cfg-secret")
    assert loaded is not None and all(secret in channel_secrets(loaded) for secret in SECRETS)
    key_file = settings.data_dir / "secrets_key"  # no key configured: generated once, owner-only
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_plaintext_rows_of_before_still_load_and_a_rewrite_encrypts_them(
    storage: SqlStorage, settings: Settings
) -> None:
    plain = json.dumps(config_with_every_secret().model_dump(mode="json", context=REVEAL_SECRETS))
    await storage.configs.add(config_with_every_secret(), next_run_at=None)
    with sqlite3.connect(settings.sqlite_path) as db:  # as an older version stored it
        db.execute("UPDATE monitoring_configs SET document = ?", (plain,))
    assert SECRETS[1] in raw_documents(settings)
    loaded = await storage.configs.get("cfg-secret")
    assert loaded is not None and SECRETS[1] in channel_secrets(loaded)

    assert await storage.configs.rewrite_secrets() == 1  # `techscaniq secrets rotate`
    assert not any(secret in raw_documents(settings) for secret in SECRETS)


async def test_keys_rotate_without_losing_a_secret(settings: Settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    async def opened(keys: str) -> SqlStorage:
        store = SqlStorage(settings.model_copy(update={"secrets_encryption_key": SecretStr(keys)}))
        await store.start()
        return store

    first = await opened(old)
    await first.configs.add(config_with_every_secret(), next_run_at=None)
    await first.close()

    both = await opened(f"{new},{old}")  # the new key encrypts, the old one still decrypts
    loaded = await both.configs.get("cfg-secret")
    assert loaded is not None and SECRETS[0] in channel_secrets(loaded)
    await both.configs.rewrite_secrets()
    await both.close()

    only_new = await opened(new)
    loaded = await only_new.configs.get("cfg-secret")
    assert loaded is not None and all(secret in channel_secrets(loaded) for secret in SECRETS)
    await only_new.close()

    only_old = await opened(old)
    with pytest.raises(ValidationError, match="does not open with the configured keys"):
        await only_old.configs.get("cfg-secret")
    await only_old.close()


def test_a_malformed_key_is_refused_naming_the_setting(settings: Settings) -> None:
    with pytest.raises(ValueError, match="SECRETS_ENCRYPTION_KEY"):
        SqlStorage(settings.model_copy(update={"secrets_encryption_key": SecretStr("not-a-key")}))


async def test_the_rotate_command_re_encrypts_with_the_first_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from techscaniq.cli import main

    old = Fernet.generate_key().decode()
    store = SqlStorage(settings.model_copy(update={"secrets_encryption_key": SecretStr(old)}))
    await store.start()
    await store.configs.add(config_with_every_secret(), next_run_at=None)
    await store.close()
    assert main(["secrets", "new-key"]) == 0
    new = capsys.readouterr().out.strip()
    for backend in ("DATABASE_URL", "METRICS_DATABASE_URL", "REDIS_URL", "KAFKA_SERVERS"):
        monkeypatch.delenv(backend, raising=False)  # `make test` exports its services; this is embedded
    monkeypatch.chdir(settings.data_dir.parent)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SECRETS_ENCRYPTION_KEY", f"{new},{old}")
    assert await asyncio.to_thread(main, ["secrets", "rotate"]) == 0
    assert "re-encrypted the secrets of 1 configs" in capsys.readouterr().out

    only_new = SqlStorage(settings.model_copy(update={"secrets_encryption_key": SecretStr(new)}))
    await only_new.start()
    loaded = await only_new.configs.get("cfg-secret")
    await only_new.close()
    assert loaded is not None and all(secret in channel_secrets(loaded) for secret in SECRETS)
