"""Agent bots through the real HTTP API: CRUD, their token, the inbox setting, events at outgoing_url,
the refusal of customer-visible messages after handoff, and the handoff when the bot cannot be reached."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from tests.channels.outbound.harness import eventually
from tests.factories import Member, make_member
from tests.webhooks.receiver import Receiver


def _account(member: Member) -> str:
    return f"/api/v1/accounts/{member.account.id}"


async def _bot(client: httpx.AsyncClient, admin: Member, outgoing_url: str) -> dict[str, Any]:
    response = await client.post(f"{_account(admin)}/agent_bots", json={"agent_bot": {"name": "Typebot", "outgoing_url": outgoing_url}}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _bot_inbox_conversation(client: httpx.AsyncClient, admin: Member, bot: dict[str, Any]) -> str:
    account = _account(admin)
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    assert (await client.post(f"{account}/inboxes/{inbox['id']}/set_agent_bot", json={"agent_bot": bot["id"]}, headers=admin.headers)).status_code == 200
    contact = (await client.post(f"{account}/contacts", json={"name": "Ana", "inbox_id": inbox["id"]}, headers=admin.headers)).json()["payload"]["contact"]
    conversation = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=admin.headers)).json()
    assert conversation["status"] == "pending"
    return f"{account}/conversations/{conversation['id']}"


async def _token_works(client: httpx.AsyncClient, account: str, token: str) -> bool:
    """A bot-allowed endpoint on a missing conversation: 404 once authenticated, 401 if the token is refused."""
    response = await client.post(f"{account}/conversations/999999/toggle_priority", json={"priority": "high"}, headers={"api_access_token": token})
    assert response.status_code in (401, 404), response.text
    return response.status_code == 404


async def test_agent_bot_crud_token_and_inbox_setting(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account = _account(admin)
    bot = await _bot(client, admin, "https://bot.example.com/hook")
    assert bot["name"] == "Typebot" and bot["bot_type"] == "webhook" and bot["access_token"] and bot["secret"]

    assert await _token_works(client, account, bot["access_token"])
    listed = (await client.get(f"{account}/agent_bots", headers=agent.headers)).json()
    assert [b["id"] for b in listed] == [bot["id"]] and listed[0]["secret"] is None and listed[0]["access_token"] is None
    assert (await client.post(f"{account}/agent_bots", json={"name": "x"}, headers=agent.headers)).status_code == 401

    patched = await client.patch(f"{account}/agent_bots/{bot['id']}", json={"description": "Qualifies leads"}, headers=admin.headers)
    assert patched.json()["description"] == "Qualifies leads" and patched.json()["access_token"] is None
    bad = await client.patch(f"{account}/agent_bots/{bot['id']}", json={"outgoing_url": "file:///etc/passwd"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["attributes"] == ["outgoing_url"]

    reset = (await client.post(f"{account}/agent_bots/{bot['id']}/reset_access_token", headers=admin.headers)).json()
    assert reset["access_token"] and reset["access_token"] != bot["access_token"]
    assert not await _token_works(client, account, bot["access_token"])
    assert await _token_works(client, account, reset["access_token"])

    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    assert (await client.get(f"{account}/inboxes/{inbox['id']}/agent_bot", headers=admin.headers)).json() == {"agent_bot": None}
    await client.post(f"{account}/inboxes/{inbox['id']}/set_agent_bot", json={"agent_bot": bot["id"]}, headers=admin.headers)
    assert (await client.get(f"{account}/inboxes/{inbox['id']}/agent_bot", headers=admin.headers)).json()["agent_bot"]["id"] == bot["id"]
    await client.post(f"{account}/inboxes/{inbox['id']}/set_agent_bot", json={"agent_bot": None}, headers=admin.headers)
    assert (await client.get(f"{account}/inboxes/{inbox['id']}/agent_bot", headers=admin.headers)).json() == {"agent_bot": None}

    stranger = await make_member(runtime)
    assert (await client.get(f"{_account(stranger)}/agent_bots/{bot['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.post(f"{account}/inboxes/{inbox['id']}/set_agent_bot", json={"agent_bot": 999_999}, headers=admin.headers)).status_code == 404
    assert (await client.delete(f"{account}/agent_bots/{bot['id']}", headers=admin.headers)).status_code == 200
    assert not await _token_works(client, account, reset["access_token"])


async def test_the_bot_hears_its_inbox_hands_off_and_is_then_refused(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    bot = await _bot(client, admin, f"{receiver.url}/bot")
    url = await _bot_inbox_conversation(client, admin, bot)
    bot_headers = {"api_access_token": bot["access_token"]}
    await client.post(f"{url}/messages", json={"content": "Quero comprar", "message_type": "incoming"}, headers=admin.headers)

    async def heard() -> Any:
        found = [r for r in receiver.events("message_created") if r.body["message_type"] == "incoming"]
        assert found
        return found[0]

    incoming = await eventually(heard)
    assert incoming.signed_with(bot["secret"]) and incoming.body["conversation"]["status"] == "pending"
    answer = await client.post(f"{url}/messages", json={"content": "Claro! Qual produto?"}, headers=bot_headers)
    assert answer.status_code == 200, answer.text

    handoff = await client.post(f"{url}/toggle_status", json={"status": "open"}, headers=bot_headers)
    assert handoff.status_code == 200, handoff.text

    async def told() -> None:
        names = [r.event for r in receiver.received]
        assert "conversation_opened" in names and "conversation_status_changed" in names, names

    await eventually(told)
    changed = receiver.events("conversation_status_changed")[0].body["changed_attributes"]
    assert changed == [{"status": {"previous_value": "pending", "current_value": "open"}}]
    refused = await client.post(f"{url}/messages", json={"content": "Ainda estou aqui"}, headers=bot_headers)
    assert refused.status_code == 422
    note = await client.post(f"{url}/messages", json={"content": "Lead quente", "private": True}, headers=bot_headers)
    assert note.status_code == 200  # private notes for the team stay allowed


async def test_a_bot_that_cannot_be_reached_hands_the_conversation_to_the_team(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    receiver.status = 500
    bot = await _bot(client, admin, f"{receiver.url}/bot")
    url = await _bot_inbox_conversation(client, admin, bot)
    await client.post(f"{url}/messages", json={"content": "Oi?", "message_type": "incoming"}, headers=admin.headers)

    async def handed_off() -> None:
        assert (await client.get(url, headers=admin.headers)).json()["status"] == "open"

    await eventually(handed_off)
    messages = (await client.get(f"{url}/messages", headers=admin.headers)).json()["payload"]
    lines = [m["content"] for m in messages if m["message_type"] == 2]
    assert lines == ["O bot não respondeu: conversa passada para a equipe"]  # in the account's language, pt-BR
