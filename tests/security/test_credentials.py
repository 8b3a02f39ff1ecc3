# ruff: noqa: F811  (the API fixtures are imported from tests/api/conftest.py and used as arguments)
"""Credentials never grow: only API keys are exchanged for tokens, revocation and key removal are
checked on every use, and no token reaches a log line or a world-readable file."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import websockets
from tests.api.conftest import KEY_A, Client, api_settings, client, system  # noqa: F401 (fixtures)

from techscaniq.api.auth import Role, create_token
from techscaniq.observability.logging import configure_logging
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"


async def test_a_jwt_is_never_exchanged_for_a_token(system: MonitoringSystem, client: Client) -> None:
    viewer = create_token(system.settings, "org-a", Role.VIEWER)
    async with client(None) as http:
        refused = await http.post(TOKEN, json={"api_key": viewer, "role": "admin"})
        assert refused.status_code == 401 and "not an API key" in refused.json()["detail"]
        assert (await http.post(TOKEN, headers={"X-API-Key": viewer})).status_code == 401


async def test_a_revoked_token_does_not_come_back_fresh(system: MonitoringSystem, client: Client) -> None:
    async with client(None) as http:
        issued = (await http.post(TOKEN, json={"api_key": KEY_A})).json()["access_token"]
        bearer = {"Authorization": f"Bearer {issued}"}
        assert (await http.post("/api/v1/auth/revoke", json={"token": issued}, headers=bearer)).status_code == 200
        assert (await http.get(ME, headers=bearer)).status_code == 401
        assert (await http.post(TOKEN, json={"api_key": issued})).status_code == 401


async def test_removing_a_key_from_api_keys_ends_its_tokens(system: MonitoringSystem, client: Client) -> None:
    async with client(None) as http:
        issued = (await http.post(TOKEN, json={"api_key": KEY_A})).json()["access_token"]
        bearer = {"Authorization": f"Bearer {issued}"}
        assert (await http.get(ME, headers=bearer)).status_code == 200
        system.settings.api_keys = "org-b:key-b-0123456789abcdef"  # the operator removed org-a's key
        gone = await http.get(ME, headers=bearer)
        assert gone.status_code == 401 and "no longer configured" in gone.json()["detail"]
        assert (await http.post(TOKEN, json={"api_key": issued})).status_code == 401
        # A token the operator minted with the CLI names no key and stays valid.
        cli_token = create_token(system.settings, "org-a")
        assert (await http.get(ME, headers={"Authorization": f"Bearer {cli_token}"})).status_code == 200


async def test_websocket_tokens_stay_out_of_log_files_which_are_owner_only(settings: Settings, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    settings = settings.model_copy(update={"log_dir": logs, "log_file": logs / "monitoring_system.log",
                                           "http_port": 0, "websocket_port": 0})
    token = create_token(settings, "org-a")
    try:
        async with MonitoringSystem(settings) as system:
            api, hub = system.ports["api"], system.ports["websocket"]
            # The browser way: subprotocols; the server echoes only techscaniq.v1.
            async with websockets.connect(f"ws://127.0.0.1:{api}/ws",
                                          subprotocols=["techscaniq.v1", f"bearer.{token}"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol == "techscaniq.v1"
                assert '"welcome"' in str(await ws.recv())
            # An old client's query token, and a token quoted in a message: both scrubbed.
            async with websockets.connect(f"ws://127.0.0.1:{hub}/ws?token={token}") as ws:
                assert '"welcome"' in str(await ws.recv())
            logging.getLogger("techscaniq.api").warning("header was Authorization: Bearer %s", token)
        files = [path for path in [*logs.rglob("*")] if path.is_file()]
        text = "".join(path.read_text() for path in files)
        assert "WebSocket" in text and "[REDACTED]" in text  # uvicorn logged the connections
        assert token not in text and token.split(".")[2] not in text
        assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)
        assert stat.S_IMODE(logs.stat().st_mode) == 0o700
        database = settings.sqlite_path
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    finally:
        configure_logging(settings.model_copy(update={"log_dir": tmp_path / "after", "log_file":
                                                      tmp_path / "after" / "main.log"}), console=False)
