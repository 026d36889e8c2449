"""The integration-architecture handoff, driven through plain HTTP exactly as a Chatwoot client does it
(n8n, Evolution API, a Typebot/Dify bot), checking every response field by field against Chatwoot's
shapes (../shared/reference/chatwoot-api.md): key sets, types, and the values the flow implies.
"""

from __future__ import annotations

from typing import Any

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from tests.factories import make_member

CONTACT_KEYS = {
    "id", "name", "email", "phone_number", "identifier", "blocked", "thumbnail", "avatar_url", "availability_status",
    "additional_attributes", "custom_attributes", "last_activity_at", "created_at", "contact_inboxes", "type",
}
INBOX_SUMMARY_KEYS = {"id", "avatar_url", "channel_id", "name", "channel_type", "provider"}
CONVERSATION_KEYS = {
    "id", "uuid", "account_id", "inbox_id", "meta", "messages", "labels", "status", "priority", "muted", "can_reply",
    "additional_attributes", "custom_attributes", "snoozed_until", "waiting_since", "first_reply_created_at",
    "agent_last_seen_at", "assignee_last_seen_at", "contact_last_seen_at", "last_activity_at", "timestamp",
    "created_at", "unread_count", "team_id",
}
META_KEYS = {"sender", "channel", "assignee", "team", "hmac_verified"}
MESSAGE_KEYS = {
    "id", "content", "account_id", "inbox_id", "conversation_id", "message_type", "content_type", "status",
    "content_attributes", "created_at", "private", "source_id", "sender_type", "sender_id", "sender", "attachments",
}
AGENT_KEYS = {"id", "account_id", "availability_status", "auto_offline", "confirmed", "email", "available_name",
              "name", "role", "thumbnail"}


def _has(body: dict[str, Any], keys: set[str], what: str) -> None:
    missing = keys - set(body)
    assert not missing, f"{what} lacks {sorted(missing)}: {body}"


def _check_contact(contact: dict[str, Any]) -> None:
    _has(contact, CONTACT_KEYS, "contact")
    assert isinstance(contact["id"], int) and isinstance(contact["created_at"], int)
    assert contact["type"] == "contact"
    for contact_inbox in contact["contact_inboxes"]:
        assert isinstance(contact_inbox["source_id"], str)
        _has(contact_inbox["inbox"], INBOX_SUMMARY_KEYS, "contact_inbox.inbox")


def _check_message(message: dict[str, Any], conversation_id: int) -> None:
    _has(message, MESSAGE_KEYS, "message")
    assert isinstance(message["message_type"], int)  # integers in REST, as Chatwoot
    assert isinstance(message["created_at"], int)
    assert message["conversation_id"] == conversation_id  # the display id


def _check_conversation(conversation: dict[str, Any], account_id: int) -> None:
    _has(conversation, CONVERSATION_KEYS, "conversation")
    _has(conversation["meta"], META_KEYS, "conversation.meta")
    _check_contact(conversation["meta"]["sender"])
    assert conversation["account_id"] == account_id
    assert conversation["status"] in {"open", "pending", "resolved", "snoozed"}
    assert isinstance(conversation["timestamp"], int) and isinstance(conversation["unread_count"], int)
    for message in conversation["messages"]:
        _check_message(message, conversation["id"])


async def test_bot_to_human_handoff_as_a_chatwoot_client_drives_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account_id = admin.account.id
    account = f"/api/v1/accounts/{account_id}"
    admin_headers = admin.headers

    # Setup an integrator does once: an API inbox, an agent bot on it, the agent as inbox member.
    inbox = await client.post(f"{account}/inboxes", json={"name": "Site", "channel": {"type": "api"}}, headers=admin_headers)
    assert inbox.status_code == 200, inbox.text
    inbox_id = inbox.json()["id"]
    bot = await client.post(f"{account}/agent_bots", json={"name": "Typebot", "outgoing_url": "https://bot.example.com/hook"},
                            headers=admin_headers)
    assert bot.status_code == 200, bot.text
    bot_headers = {"api_access_token": bot.json()["access_token"]}
    set_bot = await client.post(f"{account}/inboxes/{inbox_id}/set_agent_bot", json={"agent_bot": bot.json()["id"]},
                                headers=admin_headers)
    assert set_bot.status_code == 200, set_bot.text
    await client.post(f"{account}/inbox_members", json={"inbox_id": inbox_id, "user_ids": [agent.user.id]}, headers=admin_headers)

    # 1. Contact with custom attributes, in the inbox.
    created = await client.post(f"{account}/contacts", headers=admin_headers, json={
        "inbox_id": inbox_id, "name": "Ana Souza", "phone_number": "+5511987654321", "email": "ana@example.com",
        "identifier": "lead-42", "custom_attributes": {"lead_score": 8, "interest": "sneakers"},
    })
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) == {"payload"} and set(body["payload"]) == {"contact", "contact_inbox"}
    contact = body["payload"]["contact"]
    _check_contact(contact)
    assert contact["custom_attributes"] == {"lead_score": 8, "interest": "sneakers"}
    source_id = body["payload"]["contact_inbox"]["source_id"]
    assert isinstance(source_id, str) and body["payload"]["contact_inbox"]["inbox"]["id"] == inbox_id

    # 2. Conversation by source_id: pending, because the inbox has a bot.
    conversation = await client.post(f"{account}/conversations", json={"source_id": source_id, "inbox_id": inbox_id},
                                     headers=admin_headers)
    assert conversation.status_code == 200, conversation.text
    conversation = conversation.json()
    _check_conversation(conversation, account_id)
    assert conversation["status"] == "pending" and conversation["meta"]["assignee"] is None
    url = f"{account}/conversations/{conversation['id']}"

    # 3. The customer writes; the bot answers while pending, then leaves its history as a private note.
    incoming = await client.post(f"{url}/messages", json={"content": "Quero um tênis", "message_type": "incoming"},
                                 headers=admin_headers)
    assert incoming.status_code == 200, incoming.text
    _check_message(incoming.json(), conversation["id"])
    assert incoming.json()["message_type"] == 0 and incoming.json()["sender"]["type"] == "contact"
    reply = await client.post(f"{url}/messages", json={"content": "Qual o seu número?"}, headers=bot_headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["message_type"] == 1
    note = await client.post(f"{url}/messages", headers=bot_headers, json={
        "content": "Bot transcript: wants sneakers, size 38, score 8/10", "message_type": "outgoing", "private": True,
    })
    assert note.status_code == 200, note.text
    _check_message(note.json(), conversation["id"])
    assert note.json()["private"] is True

    # 4. Handoff: the bot opens the conversation with its own token.
    handoff = await client.post(f"{url}/toggle_status", json={"status": "open"}, headers=bot_headers)
    assert handoff.status_code == 200, handoff.text
    assert handoff.json() == {"meta": {}, "payload": {
        "success": True, "current_status": "open", "conversation_id": conversation["id"], "snoozed_until": None,
    }}
    refused = await client.post(f"{url}/messages", json={"content": "Still me!"}, headers=bot_headers)
    assert refused.status_code == 422 and "error" in refused.json()
    denied = await client.get(f"{account}/contacts", headers=bot_headers)
    assert denied.status_code == 401
    assert denied.json() == {"error": "Access to this endpoint is not authorized for bots"}

    # 5. Assignment to the agent.
    assigned = await client.post(f"{url}/assignments", json={"assignee_id": agent.user.id}, headers=admin_headers)
    assert assigned.status_code == 200, assigned.text
    _has(assigned.json(), AGENT_KEYS, "assignee")
    assert assigned.json()["id"] == agent.user.id and assigned.json()["role"] == "agent"

    # 6. Read back what an agent (and n8n) sees.
    shown = await client.get(url, headers=agent.headers)
    assert shown.status_code == 200, shown.text
    shown = shown.json()
    _check_conversation(shown, account_id)
    assert shown["status"] == "open" and shown["meta"]["assignee"]["id"] == agent.user.id
    assert shown["meta"]["sender"]["id"] == contact["id"]
    messages = await client.get(f"{url}/messages", headers=agent.headers)
    assert messages.status_code == 200, messages.text
    assert set(messages.json()) >= {"meta", "payload"}
    payload = messages.json()["payload"]
    for message in payload:
        _check_message(message, conversation["id"])
    assert [m["content"] for m in payload if m["message_type"] != 2][:3] == [
        "Quero um tênis", "Qual o seu número?", "Bot transcript: wants sneakers, size 38, score 8/10",
    ]
    read_contact = await client.get(f"{account}/contacts/{contact['id']}", headers=agent.headers)
    assert set(read_contact.json()) == {"payload"}
    _check_contact(read_contact.json()["payload"])
    assert read_contact.json()["payload"]["custom_attributes"]["interest"] == "sneakers"
    listed = await client.get(f"{account}/conversations", params={"assignee_type": "me"}, headers=agent.headers)
    data = listed.json()["data"]
    assert set(data["meta"]) >= {"mine_count", "unassigned_count", "all_count"}
    assert [c["id"] for c in data["payload"]] == [conversation["id"]]
    missing = await client.get(f"{account}/conversations/999999", headers=agent.headers)
    assert missing.status_code == 404 and missing.json() == {"error": "Resource could not be found"}
