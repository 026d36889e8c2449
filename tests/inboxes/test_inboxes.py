from __future__ import annotations

import httpx

from nexa.auth.models import Role
from nexa.inboxes.models import Inbox
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_admin_creates_a_whatsapp_inbox_whose_secrets_never_come_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/inboxes"
    created = await client.post(
        base,
        json={
            "inbox": {
                "name": "Vendas",
                "channel_type": "whatsapp_cloud",
                "channel_config": {"phone_number_id": "1234", "waba_id": "99"},
                "credentials": {"access_token": "EAAG-secret", "app_secret": "shh", "webhook_verify_token": "vt"},
                "working_hours_enabled": True,
                "working_hours": [{"day_of_week": 1, "open_hour": 9, "open_minutes": 0, "close_hour": 18, "close_minutes": 0}],
                "auto_assignment_config": {"max_assignment_limit": 5},
            }
        },
        headers=admin.headers,
    )
    assert created.status_code == 200, created.text
    inbox = created.json()
    assert inbox["channel_type"] == "Channel::Whatsapp" and inbox["provider"] == "whatsapp_cloud"
    assert inbox["credentials_set"] == ["access_token", "app_secret", "webhook_verify_token"]
    assert "EAAG-secret" not in created.text and "shh" not in created.text
    assert inbox["max_assignment_limit"] == 5 and len(inbox["inbox_identifier"]) == 24

    async with runtime.db.session() as session:
        row = await session.get(Inbox, inbox["id"])
        assert row is not None
        assert runtime.cipher.decrypt(row.encrypted_credentials["access_token"]) == "EAAG-secret"

    removed = await client.patch(f"{base}/{inbox['id']}", json={"credentials": {"app_secret": None}}, headers=admin.headers)
    assert removed.status_code == 422
    assert removed.json()["attributes"] == ["app_secret"]
    changed = await client.patch(
        f"{base}/{inbox['id']}",
        json={"name": "Vendas SP", "credentials": {"app_secret": "rotated"}, "bot_enabled": True},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["credentials_set"] == ["access_token", "app_secret", "webhook_verify_token"]
    assert changed.json()["bot_enabled"] is True and changed.json()["channel_config"]["phone_number_id"] == "1234"

    listed = await client.get(base, headers=admin.headers)
    assert [i["name"] for i in listed.json()["payload"]] == ["Vendas SP"]
    assert (await client.delete(f"{base}/{inbox['id']}", headers=admin.headers)).status_code == 200
    assert (await client.get(f"{base}/{inbox['id']}", headers=admin.headers)).status_code == 404


async def test_chatwoot_style_channel_object_is_accepted(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    created = await client.post(
        f"/api/v1/accounts/{admin.account.id}/inboxes",
        json={"name": "API", "channel": {"type": "api", "webhook_url": "https://example.com/hook", "hmac_token": "t"}},
        headers=admin.headers,
    )
    assert created.status_code == 200, created.text
    assert created.json()["webhook_url"] == "https://example.com/hook"
    # webhook_secret is generated: it signs what Nexa posts to webhook_url.
    assert created.json()["credentials_set"] == ["hmac_token", "webhook_secret"]


async def test_invalid_inbox_answers_422(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/inboxes"
    bad_type = await client.post(base, json={"name": "x", "channel_type": "fax"}, headers=admin.headers)
    assert bad_type.status_code == 422 and "channel_type" in bad_type.json()["error"]
    bad_zone = await client.post(base, json={"name": "x", "channel_type": "api", "timezone": "Mars/Base"}, headers=admin.headers)
    assert bad_zone.status_code == 422


async def test_members_and_assignable_agents(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    other_agent = await make_member(runtime, admin.account, role=Role.agent)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "Web", "channel_type": "web_widget"}, headers=admin.headers)).json()
    assert inbox["website_token"] == inbox["inbox_identifier"]

    assert (await client.get(f"{account}/inboxes", headers=agent.headers)).json()["payload"] == []
    added = await client.post(f"{account}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]}, headers=admin.headers)
    assert [a["id"] for a in added.json()["payload"]] == [agent.user.id]
    assert [i["id"] for i in (await client.get(f"{account}/inboxes", headers=agent.headers)).json()["payload"]] == [inbox["id"]]

    replaced = await client.patch(
        f"{account}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [other_agent.user.id]}, headers=admin.headers
    )
    assert [a["id"] for a in replaced.json()["payload"]] == [other_agent.user.id]
    members = await client.get(f"{account}/inbox_members/{inbox['id']}", headers=admin.headers)
    assert [a["id"] for a in members.json()["payload"]] == [other_agent.user.id]
    assignable = await client.get(f"{account}/inboxes/{inbox['id']}/assignable_agents", headers=admin.headers)
    assert {a["id"] for a in assignable.json()["payload"]} == {admin.user.id, other_agent.user.id}
    removed = await client.request(
        "DELETE", f"{account}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [other_agent.user.id]}, headers=admin.headers
    )
    assert removed.status_code == 200
    assert (await client.get(f"{account}/inbox_members/{inbox['id']}", headers=admin.headers)).json()["payload"] == []

    denied = await client.post(f"{account}/inboxes", json={"name": "x", "channel_type": "api"}, headers=agent.headers)
    assert denied.status_code == 401


async def test_another_accounts_inbox_is_not_found(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime)
    stranger = await make_member(runtime)
    inbox = (await client.post(f"/api/v1/accounts/{owner.account.id}/inboxes", json={"name": "x", "channel_type": "api"}, headers=owner.headers)).json()
    account = f"/api/v1/accounts/{stranger.account.id}"
    for method, url, body in [
        ("GET", f"{account}/inboxes/{inbox['id']}", None),
        ("PATCH", f"{account}/inboxes/{inbox['id']}", {"name": "y"}),
        ("DELETE", f"{account}/inboxes/{inbox['id']}", None),
        ("GET", f"{account}/inboxes/{inbox['id']}/assignable_agents", None),
        ("GET", f"{account}/inbox_members/{inbox['id']}", None),
        ("POST", f"{account}/inbox_members", {"inbox_id": inbox["id"], "user_ids": []}),
        ("PATCH", f"{account}/inbox_members", {"inbox_id": inbox["id"], "user_ids": []}),
        ("DELETE", f"{account}/inbox_members", {"inbox_id": inbox["id"], "user_ids": []}),
    ]:
        response = await client.request(method, url, json=body, headers=stranger.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json() == {"error": "Resource could not be found"}
