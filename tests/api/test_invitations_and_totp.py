"""Invitations by link (and by real email over SMTP), password reset, and the TOTP second factor with
recovery codes — through the API, as the pages in api/static use it."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyotp
import pytest
from aiosmtpd.controller import Controller
from tests.support.accounts import member, session_of
from tests.support.ports import free_port

from techscaniq.accounts.secrets import hash_password
from techscaniq.api.app import create_app
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

PASSWORD = "correct horse battery staple"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
async def mailed(settings: Settings) -> AsyncIterator[tuple[MonitoringSystem, httpx.AsyncClient, Mailbox]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_use_tls": False,
                                             "public_url": "https://monitor.example.test/"})
    try:
        async with MonitoringSystem(configured, serve_http=False, configure_logs=False) as system:
            transport = httpx.ASGITransport(app=create_app(system))
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
                yield system, http, mailbox
    finally:
        controller.stop()


def fragment_token(link: str, name: str) -> str:
    return link.split(f"#{name}=", 1)[1].strip()


async def test_an_invitation_by_email_makes_a_member_with_its_role_once(
        mailed: tuple[MonitoringSystem, httpx.AsyncClient, Mailbox]) -> None:
    system, http, mailbox = mailed
    admin = await session_of(system.storage, await member(system.storage, "admin@example.com", "org-a", "admin"),
                             "org-a")
    too_high = await http.post("/api/v1/invitations", json={"email": "x@example.com", "role": "owner"},
                               headers=admin.headers)
    assert too_high.status_code == 422 and too_high.json()["detail"][0]["field"] == "role"
    sent = await http.post("/api/v1/invitations", json={"email": "New@Example.com", "role": "editor"},
                           headers=admin.headers)
    assert sent.status_code == 201 and sent.json()["emailed"] is True
    assert sent.json()["link"].startswith("https://monitor.example.test/static/accept.html#invite=")
    [message] = mailbox.messages
    assert message["To"] == "New@Example.com" and sent.json()["link"] in message.get_payload(decode=True).decode()
    token = fragment_token(sent.json()["link"], "invite")

    weak = await http.post("/api/v1/invitations/accept", json={"token": token, "password": "short"})
    assert weak.status_code == 422
    joined = await http.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD})
    assert joined.status_code == 200, joined.text
    assert (joined.json()["email"], joined.json()["organization_id"], joined.json()["role"]) == (
        "new@example.com", "org-a", "editor")
    again = await http.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD})
    assert again.status_code == 401  # works once
    members = (await http.get("/api/v1/members", headers=admin.headers)).json()
    assert {(m["email"], m["role"]) for m in members} == {("admin@example.com", "admin"),
                                                          ("new@example.com", "editor")}
    http.cookies.clear()


async def test_a_password_reset_link_sets_a_new_password_and_ends_every_session(
        mailed: tuple[MonitoringSystem, httpx.AsyncClient, Mailbox]) -> None:
    system, http, mailbox = mailed
    user_id = await member(system.storage, "forgot@example.com", "org-a", "viewer", await hash_password(PASSWORD))
    old_session = await session_of(system.storage, user_id, "org-a")
    unknown = await http.post("/api/v1/password-reset", json={"email": "nobody@example.com"})
    known = await http.post("/api/v1/password-reset", json={"email": "forgot@example.com"})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()  # no discovery
    [message] = mailbox.messages
    body = message.get_payload(decode=True).decode()
    token = fragment_token(body.split()[-1], "reset")
    done = await http.post("/api/v1/password-reset/complete", json={"token": token, "password": "a brand new one!"})
    assert done.status_code == 200 and done.json()["sessions_ended"] == 1
    assert (await http.get("/api/v1/overview", headers=old_session.headers)).status_code == 401
    replay = await http.post("/api/v1/password-reset/complete", json={"token": token, "password": "another one!!"})
    assert replay.status_code == 401
    statuses = [(await http.post("/api/v1/session", json={"email": "forgot@example.com", "password": p})).status_code
                for p in (PASSWORD, "a brand new one!")]
    assert statuses == [401, 200]
    http.cookies.clear()


async def test_totp_is_asked_at_sign_in_and_a_recovery_code_works_once(
        mailed: tuple[MonitoringSystem, httpx.AsyncClient, Mailbox]) -> None:
    system, http, _ = mailed
    user_id = await member(system.storage, "careful@example.com", "org-a", "editor", await hash_password(PASSWORD))
    signed_in = await session_of(system.storage, user_id, "org-a")
    setup = (await http.post("/api/v1/session/totp", headers=signed_in.headers)).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/TechScanIQ:careful%40example.com?secret=")
    stored = await system.storage.accounts.user(user_id)
    assert stored is not None and setup["secret"] not in str(stored.totp_secret)  # encrypted at rest
    totp = pyotp.TOTP(setup["secret"])
    wrong = await http.post("/api/v1/session/totp/confirm", json={"code": "000000" if totp.now() != "000000"
                                                                  else "111111"}, headers=signed_in.headers)
    assert wrong.status_code == 422
    codes = (await http.post("/api/v1/session/totp/confirm", json={"code": totp.now()},
                             headers=signed_in.headers)).json()["recovery_codes"]
    assert len(codes) == 10

    sign_in = {"email": "careful@example.com", "password": PASSWORD}
    asked = await http.post("/api/v1/session", json=sign_in)
    assert asked.status_code == 401 and asked.json()["detail"].startswith("code:")
    assert (await http.post("/api/v1/session", json={**sign_in, "code": totp.now()})).status_code == 200
    assert (await http.post("/api/v1/session", json={**sign_in, "code": codes[0]})).status_code == 200
    assert (await http.post("/api/v1/session", json={**sign_in, "code": codes[0]})).status_code == 401  # used
    off = await http.request("DELETE", "/api/v1/session/totp", json={"code": codes[1]}, headers=signed_in.headers)
    assert off.status_code == 200
    assert (await http.post("/api/v1/session", json=sign_in)).status_code == 200  # no second factor any more
    http.cookies.clear()
