"""`techscaniq users create` and `users reset-password`: the operator's way to add people and recover access."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest

from techscaniq.api.app import create_app
from techscaniq.cli import main as cli_main
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


def test_users_create_and_reset_password_let_the_person_sign_in(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "METRICS_DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli_main(["users", "create", "ops@example.com", "--org", "acme", "--role", "admin", "--password-stdin"]) == 0
    assert "ops@example.com is admin of acme" in capsys.readouterr().out
    assert cli_main(["users", "create", "x@example.com", "--org", "Not An Id"]) == 1
    assert "--organization" in capsys.readouterr().err
    assert cli_main(["users", "reset-password", "nobody@example.com"]) == 1
    assert cli_main(["users", "reset-password", "ops@example.com"]) == 0
    generated = capsys.readouterr().out.split("password (shown once): ", 1)[1].strip()

    async def sign_ins() -> list[int]:
        async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
            transport = httpx.ASGITransport(app=create_app(system))
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
                return [(await http.post("/api/v1/session", json={"email": "ops@example.com", "password": password})
                         ).status_code for password in ("a long enough password", generated)]

    assert asyncio.run(sign_ins()) == [401, 200]  # the old password no longer works, the new one does


def test_the_cli_mints_tokens_of_every_role(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "METRICS_DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL", "JWT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    tokens = {}
    for role in ("viewer", "editor", "admin", "owner"):
        assert cli_main(["token", "--organization", "acme", "--role", role]) == 0
        tokens[role] = capsys.readouterr().out.strip()

    async def statuses() -> dict[str, tuple[int, int]]:
        async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
            transport = httpx.ASGITransport(app=create_app(system))
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
                return {role: ((await http.post("/api/v1/silences", json={}, headers=bearer)).status_code,
                               (await http.get("/api/v1/members", headers=bearer)).status_code)
                        for role, bearer in ((r, {"Authorization": f"Bearer {t}"}) for r, t in tokens.items())}

    # (a write an editor may make: 422 for the empty body, not 403; the members list: admins and owners)
    assert asyncio.run(statuses()) == {"viewer": (403, 403), "editor": (422, 403), "admin": (422, 200),
                                       "owner": (422, 200)}
