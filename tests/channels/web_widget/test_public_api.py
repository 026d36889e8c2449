"""A visitor chats from the web widget through the public client API; the agent answers from the inbox."""

from __future__ import annotations

import httpx

from nexa.runtime import Runtime
from tests.factories import Member, make_member


async def _widget_inbox(client: httpx.AsyncClient, admin: Member, **config: object) -> dict:
    response = await client.post(
        f"/api/v1/accounts/{admin.account.id}/inboxes",
        json={"name": "Site", "channel_type": "web_widget", "channel_config": {"widget_color": "#ff6600", **config},
              "greeting_enabled": True, "greeting_message": "Olá! Como podemos ajudar?"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_visitor_and_agent_talk_through_the_widget(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    inbox = await _widget_inbox(client, admin, pre_chat_form_enabled=True, pre_chat_form_fields=["name", "email"])
    public = f"/public/api/v1/inboxes/{inbox['inbox_identifier']}"

    settings = (await client.get(public)).json()
    assert settings["widget_color"] == "#ff6600"
    assert settings["greeting_message"] == "Olá! Como podemos ajudar?"
    assert settings["pre_chat_form_enabled"] is True and settings["pre_chat_form_fields"] == ["name", "email"]

    visitor = (await client.post(f"{public}/contacts", json={"name": "Bia", "email": "bia@example.com"})).json()
    assert visitor["name"] == "Bia" and visitor["source_id"] and visitor["pubsub_token"]
    me = f"{public}/contacts/{visitor['source_id']}"
    conversation = (await client.post(f"{me}/conversations")).json()
    sent = await client.post(
        f"{me}/conversations/{conversation['id']}/messages", json={"content": "Quanto custa?", "echo_id": "e1"}
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["message_type"] == 0 and sent.json()["echo_id"] == "e1"

    agent_view = f"/api/v1/accounts/{admin.account.id}/conversations/{conversation['id']}/messages"
    listed = (await client.get(agent_view, headers=admin.headers)).json()["payload"]
    assert [m["content"] for m in listed] == ["Quanto custa?"]
    await client.post(agent_view, json={"content": "R$ 99"}, headers=admin.headers)
    await client.post(agent_view, json={"content": "lead quente, score 9", "private": True}, headers=admin.headers)

    seen = (await client.get(f"{me}/conversations/{conversation['id']}/messages")).json()
    assert [m["content"] for m in seen] == ["Quanto custa?", "R$ 99"]
    assert seen[1]["message_type"] == 1 and seen[1]["sender"]["type"] == "user"
    assert "score" not in str(seen)
    conversations = (await client.get(f"{me}/conversations")).json()
    assert [c["id"] for c in conversations] == [conversation["id"]]

    assert (await client.post(f"{me}/conversations/{conversation['id']}/update_last_seen")).status_code == 204
    typing = await client.post(f"{me}/conversations/{conversation['id']}/toggle_typing", json={"typing_status": "on"})
    assert typing.status_code == 204


async def test_visitors_only_reach_their_own_conversations(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    inbox = await _widget_inbox(client, admin)
    other_inbox = await _widget_inbox(client, admin)
    public = f"/public/api/v1/inboxes/{inbox['inbox_identifier']}"
    ana = (await client.post(f"{public}/contacts", json={"name": "Ana"})).json()
    bob = (await client.post(f"{public}/contacts", json={})).json()
    assert bob["name"].startswith("Visitor ")
    anas = (await client.post(f"{public}/contacts/{ana['source_id']}/conversations")).json()

    foreign = await client.get(f"{public}/contacts/{bob['source_id']}/conversations/{anas['id']}/messages")
    assert foreign.status_code == 404
    elsewhere = f"/public/api/v1/inboxes/{other_inbox['inbox_identifier']}/contacts/{ana['source_id']}"
    assert (await client.get(elsewhere)).status_code == 404
    assert (await client.get(f"{public}/contacts/not-a-visitor")).status_code == 404
    assert (await client.get("/public/api/v1/inboxes/nope")).status_code == 404
    empty = await client.post(f"{public}/contacts/{ana['source_id']}/conversations/{anas['id']}/messages", json={"content": ""})
    assert empty.status_code == 422


async def test_public_api_refuses_provider_inboxes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    from nexa.inboxes import service as inboxes
    from nexa.inboxes.schemas import InboxCreate

    admin = await make_member(runtime)
    async with runtime.db.session() as session:
        telegram = await inboxes.create_inbox(
            session, admin.account.id, InboxCreate(name="Tg", channel_type="telegram", credentials={"bot_token": "123456:telegram-token"}), cipher=runtime.cipher
        )
    assert (await client.get(f"/public/api/v1/inboxes/{telegram.public_id}")).status_code == 404
