"""API tokens from the account settings: shown once, stored hashed, limited to their account, revocable."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from nexa.auth.models import AccessToken, AuditEvent, Role
from nexa.kit.crypto import sha256_hex
from nexa.runtime import Runtime
from tests.factories import make_account, make_member


async def test_admin_creates_lists_and_revokes_a_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    url = f"/api/v1/accounts/{admin.account.id}/access_tokens"
    created = await client.post(url, headers=admin.headers,
                                json={"name": " n8n ", "scopes": ["contacts:read"], "expires_in_days": 30})
    assert created.status_code == 200, created.text
    body = created.json()
    plaintext = body["token"]
    assert body["name"] == "n8n" and body["scopes"] == ["contacts:read"] and body["expires_at"]
    assert plaintext.startswith(body["prefix"] + "_")

    async with runtime.db.session() as session:
        row = await session.get(AccessToken, body["id"])
        assert row is not None and row.account_id == admin.account.id
        assert row.token_hash == sha256_hex(plaintext) and row.encrypted_token is None
        actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == row.id))).all()
        assert "token.created" in actions

    listed = (await client.get(url, headers=admin.headers)).json()["payload"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0] and plaintext not in str(listed)

    token_headers = {"api_access_token": plaintext}
    contacts = f"/api/v1/accounts/{admin.account.id}/contacts"
    assert (await client.get(contacts, headers=token_headers)).status_code == 200
    assert (await client.post(contacts, headers=token_headers, json={"name": "Ana"})).status_code == 401
    # A narrower token must not unlock the full personal token through the profile.
    profile = (await client.get("/api/v1/profile", headers=token_headers)).json()
    assert profile["access_token"] is None
    assert (await client.get("/api/v1/profile", headers=admin.headers)).json()["access_token"] == admin.token

    assert (await client.delete(f"{url}/{body['id']}", headers=admin.headers)).status_code == 200
    assert (await client.get(contacts, headers=token_headers)).status_code == 401
    assert (await client.get(url, headers=admin.headers)).json()["payload"] == []
    assert (await client.delete(f"{url}/{body['id']}", headers=admin.headers)).status_code == 404


async def test_a_token_opens_only_its_own_account(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    other = await make_account(runtime)
    async with runtime.db.session() as session:
        from nexa.auth import service as auth_service
        from nexa.tenancy.models import Account

        account = await session.get(Account, other.id)
        assert account is not None
        await auth_service.add_member(session, account, admin.user, Role.administrator)
    created = await client.post(f"/api/v1/accounts/{admin.account.id}/access_tokens", headers=admin.headers,
                                json={"name": "crm"})
    token_headers = {"api_access_token": created.json()["token"]}
    assert (await client.get(f"/api/v1/accounts/{admin.account.id}", headers=token_headers)).status_code == 200
    refused = await client.get(f"/api/v1/accounts/{other.id}", headers=token_headers)
    assert refused.status_code == 401
    # The personal token still reaches both accounts.
    assert (await client.get(f"/api/v1/accounts/{other.id}", headers=admin.headers)).status_code == 200


async def test_agents_and_bad_input_are_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    url = f"/api/v1/accounts/{admin.account.id}/access_tokens"
    assert (await client.get(url, headers=agent.headers)).status_code == 401
    assert (await client.post(url, headers=agent.headers, json={"name": "x"})).status_code == 401
    unknown = await client.post(url, headers=admin.headers, json={"name": "x", "scopes": ["everything"]})
    assert unknown.status_code == 422 and "unknown scopes" in unknown.text
    for body in ({"name": ""}, {"name": "x", "expires_in_days": 0}, {}):
        assert (await client.post(url, headers=admin.headers, json=body)).status_code == 422, body
    # Personal tokens and other accounts' tokens are not this list's to show or revoke.
    async with runtime.db.session() as session:
        personal = await session.scalar(select(AccessToken.id).where(AccessToken.owner_id == admin.user.id))
    assert (await client.get(url, headers=admin.headers)).json()["payload"] == []
    assert (await client.delete(f"{url}/{personal}", headers=admin.headers)).status_code == 404
