from __future__ import annotations

import httpx

from nexa.auth.models import Role
from nexa.realtime.presence import presence_store
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_admin_invites_an_agent_who_sets_a_password_and_signs_in(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/agents"

    invited = await client.post(
        base, json={"agent": {"name": "Bia", "email": "Bia@Example.com", "role": "agent"}}, headers=admin.headers
    )
    assert invited.status_code == 200, invited.text
    agent = invited.json()
    assert agent == {**agent, "name": "Bia", "email": "bia@example.com", "role": "agent", "type": "user",
                     "account_id": admin.account.id, "availability_status": "offline"}
    link = agent["invitation_url"]
    assert link.startswith(f"{runtime.settings.base_url}/api/v1/auth/invitations/")
    again = await client.post(base, json={"email": "bia@example.com"}, headers=admin.headers)
    assert again.status_code == 422
    assert again.json() == {"message": "Email has already been taken", "attributes": ["email"]}

    path = link.removeprefix(runtime.settings.base_url)
    weak = await client.post(path, json={"password": "short"})
    assert weak.status_code == 422
    accepted = await client.post(path, json={"password": "a long enough secret"})
    assert accepted.json() == {"id": agent["id"], "email": "bia@example.com", "name": "Bia"}
    assert (await client.post(path, json={"password": "another long secret"})).status_code == 404
    login = await client.post("/api/v1/auth/login", json={"email": "bia@example.com", "password": "a long enough secret"})
    assert login.status_code == 200

    listed = (await client.get(base, headers=admin.headers)).json()
    assert isinstance(listed, list)
    assert {a["email"] for a in listed} == {admin.user.email, "bia@example.com"}


async def test_availability_status_is_offline_without_a_live_socket(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    base = f"/api/v1/accounts/{admin.account.id}/agents"
    changed = await client.patch(f"{base}/{agent.user.id}", json={"availability": "online", "name": "Caio"},
                                 headers=admin.headers)
    assert changed.json()["name"] == "Caio"

    def status() -> str:
        return next(a["availability_status"] for a in listed if a["id"] == agent.user.id)

    listed = (await client.get(base, headers=agent.headers)).json()
    assert status() == "offline"
    await presence_store(runtime).touch(admin.account.id, agent.user.id)
    listed = (await client.get(base, headers=agent.headers)).json()
    assert status() == "online"


async def test_role_changes_are_audited_and_owners_are_protected(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime, role=Role.owner)
    admin = await make_member(runtime, owner.account, role=Role.administrator)
    agent = await make_member(runtime, owner.account, role=Role.agent)
    base = f"/api/v1/accounts/{owner.account.id}/agents"

    promoted = await client.patch(f"{base}/{agent.user.id}", json={"role": "administrator"}, headers=admin.headers)
    assert promoted.json()["role"] == "administrator"
    demote_owner = await client.patch(f"{base}/{owner.user.id}", json={"role": "agent"}, headers=admin.headers)
    assert demote_owner.status_code == 401
    assert (await client.delete(f"{base}/{owner.user.id}", headers=admin.headers)).status_code == 401
    last_owner = await client.delete(f"{base}/{owner.user.id}", headers=owner.headers)
    assert last_owner.status_code == 422
    assert last_owner.json() == {"error": "An account must keep at least one owner"}
    plain = await make_member(runtime, owner.account, role=Role.agent)
    assert (await client.patch(f"{base}/{plain.user.id}", json={"role": "administrator"}, headers=plain.headers)).status_code == 401

    audit = (await client.get(f"/api/v1/accounts/{owner.account.id}/audit_logs", headers=owner.headers)).json()
    changes = [e for e in audit["payload"] if e["action"] == "agent.role_changed"]
    assert changes[0]["target_id"] == agent.user.id
    assert changes[0]["details"] == {"previous": "agent", "current": "administrator"}


async def test_removed_agent_loses_access_and_their_conversations_return_to_the_queue(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    await client.post(f"{account}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]},
                      headers=admin.headers)
    contact = (await client.post(f"{account}/contacts", json={"name": "Ana"}, headers=admin.headers)).json()
    conversation = (await client.post(
        f"{account}/conversations",
        json={"inbox_id": inbox["id"], "contact_id": contact["payload"]["contact"]["id"], "assignee_id": agent.user.id},
        headers=admin.headers,
    )).json()

    removed = await client.delete(f"{account}/agents/{agent.user.id}", headers=admin.headers)
    assert removed.status_code == 200
    shown = (await client.get(f"{account}/conversations/{conversation['id']}", headers=admin.headers)).json()
    assert shown["meta"]["assignee"] is None
    assert (await client.get(f"{account}/agents", headers=agent.headers)).status_code == 401
    assert (await client.delete(f"{account}/agents/{agent.user.id}", headers=admin.headers)).status_code == 404


async def test_bulk_create_invites_new_emails_and_skips_members(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/agents"
    created = await client.post(f"{base}/bulk_create", json={"emails": ["a@example.com", admin.user.email, "b@example.com"]},
                                headers=admin.headers)
    assert created.status_code == 200, created.text
    assert [a["email"] for a in created.json()] == ["a@example.com", "b@example.com"]
    assert all(a["role"] == "agent" and a["invitation_url"] for a in created.json())
    bad = await client.post(f"{base}/bulk_create", json={"emails": ["not-an-email"]}, headers=admin.headers)
    assert bad.status_code == 422
