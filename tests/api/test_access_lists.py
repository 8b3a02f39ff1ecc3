"""Pending invitations (listed, revoked: the link stops working), switching organization only to one's own
(attempts to reach another organization's data are refused), and the audit log's filters (actor, target,
action or route prefix, time range) with keyset paging — through the API, as the console uses it."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update
from tests.api.conftest import Client, config_body
from tests.api.test_access import PASSWORD
from tests.support.accounts import member, session_of

from techscaniq.api.auth import Role
from techscaniq.domain.common import utcnow
from techscaniq.storage.sql.tables import one_time_tokens
from techscaniq.system import MonitoringSystem


async def test_pending_invitations_are_listed_and_a_revoked_one_no_longer_lets_anyone_in(
        system: MonitoringSystem, client: Client) -> None:
    admin, owner, other_admin = client("org-a", Role.ADMIN), client("org-a", Role.OWNER), client("org-b", Role.ADMIN)
    links = {}
    for sender, email, role in ((admin, "vi@example.com", "viewer"), (admin, "ed@example.com", "editor"),
                                (owner, "own@example.com", "owner"), (admin, "old@example.com", "viewer")):
        answer = await sender.post("/api/v1/invitations", json={"email": email, "role": role})
        assert answer.status_code == 201, answer.text
        links[email] = answer.json()["link"].split("#invite=", 1)[1]
    async with system.storage.engine.begin() as conn:  # one invitation past its seven days
        await conn.execute(update(one_time_tokens).where(one_time_tokens.c.email == "old@example.com").values(
            expires_at=utcnow() - timedelta(seconds=1)))

    listed = (await admin.get("/api/v1/invitations")).json()
    assert [(i["email"], i["role"]) for i in listed] == [("own@example.com", "owner"), ("ed@example.com", "editor"),
                                                         ("vi@example.com", "viewer")]  # newest first, not expired
    by_email = {i["email"]: i for i in listed}
    assert all(i["expires_at"] > i["created_at"] for i in listed) and by_email["vi@example.com"]["created_by"]
    assert (await client("org-a", Role.EDITOR).get("/api/v1/invitations")).status_code == 403

    # Another organization neither sees nor revokes them; an admin cannot revoke an owner's invitation.
    assert (await other_admin.get("/api/v1/invitations")).json() == []
    editor_invitation = by_email["ed@example.com"]["id"]
    assert (await other_admin.delete(f"/api/v1/invitations/{editor_invitation}")).status_code == 404
    refused = await admin.delete(f"/api/v1/invitations/{by_email['own@example.com']['id']}")
    assert refused.status_code == 403 and "owner" in refused.json()["detail"]

    revoked = await admin.delete(f"/api/v1/invitations/{editor_invitation}")
    assert revoked.status_code == 200 and revoked.json() == {"revoked": editor_invitation}
    assert (await admin.delete(f"/api/v1/invitations/{editor_invitation}")).status_code == 404
    public = client(None)
    dead = await public.post("/api/v1/invitations/accept",
                             json={"token": links["ed@example.com"], "password": PASSWORD})
    assert dead.status_code == 401 and "not a valid invitation" in dead.json()["detail"]
    joined = await public.post("/api/v1/invitations/accept",
                               json={"token": links["vi@example.com"], "password": PASSWORD})
    assert joined.status_code == 200, joined.text
    assert [i["email"] for i in (await admin.get("/api/v1/invitations")).json()] == ["own@example.com"]
    attempts = await system.storage.audit.find("org-a", action="DELETE /api/v1/invitations/{invitation_id}",
                                               target=editor_invitation)
    assert [entry.outcome for entry in attempts] == [404, 200]  # newest first: revoked, then gone


async def test_a_session_switches_only_to_organizations_its_person_belongs_to(system: MonitoringSystem,
                                                                              http: httpx.AsyncClient,
                                                                              client: Client) -> None:
    storage = system.storage
    user_id = await member(storage, "ed@example.com", "org-a", "editor")
    await member(storage, "boss@example.com", "org-c", "owner")  # org-c exists, with its own site
    secret_site = await client("org-c", Role.EDITOR).post("/api/v1/configs", json=config_body("c-only"))
    assert secret_site.status_code == 201, secret_site.text
    signed = await session_of(storage, user_id, "org-a")

    for organization in ("org-c", "org-nonexistent", "org-a' OR '1'='1", ""):
        attempt = await http.put("/api/v1/session/organization", json={"organization_id": organization},
                                 headers=signed.headers)
        assert attempt.status_code == 422, (organization, attempt.text)
    no_csrf = {"Cookie": signed.headers["Cookie"]}  # a page of another site cannot read the CSRF token
    assert (await http.put("/api/v1/session/organization", json={"organization_id": "org-a"},
                           headers=no_csrf)).status_code == 403
    assert (await http.get("/api/v1/session", headers=signed.headers)).json()["organization_id"] == "org-a"
    assert (await http.get("/api/v1/configs", headers=signed.headers)).json() == []
    token = client("org-a", Role.ADMIN)  # a token has no session to switch
    assert (await token.put("/api/v1/session/organization", json={"organization_id": "org-c"})).status_code == 401

    # Once a member of org-c (a viewer), the switch works and the role is the one held there.
    await member(storage, "ed@example.com", "org-c", "viewer")
    switched = await http.put("/api/v1/session/organization", json={"organization_id": "org-c"},
                              headers=signed.headers)
    assert (switched.json()["organization_id"], switched.json()["role"]) == ("org-c", "viewer")
    assert [c["name"] for c in (await http.get("/api/v1/configs", headers=signed.headers)).json()] == ["c-only"]
    assert (await http.post("/api/v1/configs", json=config_body("x"), headers=signed.headers)).status_code == 403
    # Removed from org-c, the session working there ends at once.
    removed = await client("org-c", Role.OWNER).delete(f"/api/v1/members/{user_id}")
    assert removed.status_code == 200
    assert (await http.get("/api/v1/configs", headers=signed.headers)).status_code == 401


async def test_the_audit_log_filters_by_actor_target_action_prefix_and_time_and_pages_by_cursor(
        system: MonitoringSystem, client: Client) -> None:
    audit, start = system.storage.audit, utcnow() - timedelta(hours=10)
    made = [("user:ann@example.com", "POST /api/v1/configs", ""),
            ("user:ann@example.com", "PUT /api/v1/configs/{config_id}", "c1"),
            ("api-key:k1", "DELETE /api/v1/configs/{config_id}", "c1"),
            ("user:bob@example.com", "PUT /api/v1/sso", ""),
            ("user:bob@example.com", "DELETE /api/v1/api-keys/{key_id}", "k1"),
            ("user:ann@example.com", "POST /api/v1/configs_100%", "")]  # LIKE's wildcards are plain text here
    for hour, (actor, action, target) in enumerate(made):
        await audit.add("org-a", start + timedelta(hours=hour), actor, "127.0.0.1", action, target, 200, {})
    await audit.add("org-b", start, "user:ann@example.com", "127.0.0.1", "POST /api/v1/configs", "", 200, {})
    admin = client("org-a", Role.ADMIN)

    async def actions(**params: str) -> list[str]:
        answer = await admin.get("/api/v1/audit", params=params)
        assert answer.status_code == 200, answer.text
        return [row["action"] for row in answer.json()]

    assert await actions(actor="user:bob@example.com") == ["DELETE /api/v1/api-keys/{key_id}", "PUT /api/v1/sso"]
    assert await actions(target="c1") == ["DELETE /api/v1/configs/{config_id}", "PUT /api/v1/configs/{config_id}"]
    assert await actions(action_prefix="delete ") == ["DELETE /api/v1/api-keys/{key_id}",
                                                      "DELETE /api/v1/configs/{config_id}"]
    assert await actions(action_prefix="/api/v1/configs/") == ["DELETE /api/v1/configs/{config_id}",
                                                               "PUT /api/v1/configs/{config_id}"]
    assert await actions(action_prefix="POST /api/v1/configs_1") == ["POST /api/v1/configs_100%"]
    assert await actions(action_prefix="%") == [] and await actions(action_prefix="/api/v1/configs%") == []
    assert await actions(since=(start + timedelta(hours=1)).isoformat(),
                         until=(start + timedelta(hours=3)).isoformat()) == ["DELETE /api/v1/configs/{config_id}",
                                                                             "PUT /api/v1/configs/{config_id}"]
    assert await actions(actor="user:ann@example.com", action_prefix="PUT") == ["PUT /api/v1/configs/{config_id}"]

    # Paging by cursor: every entry once, newest first, even with entries recorded during the walk.
    walked, cursor = [], None
    while True:
        page = await admin.get("/api/v1/audit", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        walked += [row["action"] for row in page.json()]
        await audit.add("org-a", utcnow(), "user:new@example.com", "", "POST /api/v1/silences", "", 201, {})
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break
    assert walked == [action for _, action, _ in reversed(made)]
    bad = await admin.get("/api/v1/audit", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "cursor"
    backwards = await admin.get("/api/v1/audit", params={"since": utcnow().isoformat(),
                                                         "until": start.isoformat()})
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["field"] == "until"
