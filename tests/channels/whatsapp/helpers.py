"""Arrange and read helpers for the WhatsApp channel tests, all through the public API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.factories import CreatedInbox, Member
from nexa.devtools.fake_graph import FakeGraph


@dataclass
class WhatsAppInbox(CreatedInbox):
    @property
    def callback_path(self) -> str:
        """The path of the callback URL Meta is given (the test client talks to the app in-process)."""
        return httpx.URL(self.json["callback_webhook_url"]).path


async def create_whatsapp_inbox(
    client: httpx.AsyncClient, member: Member, fake: FakeGraph, *, name: str = "Vendas", phone_number_id: str | None = None
) -> WhatsAppInbox:
    response = await client.post(
        f"/api/v1/accounts/{member.account.id}/inboxes",
        json={"name": name, "channel": {
            "type": "whatsapp", "phone_number": "+15550783881", "provider": "whatsapp_cloud",
            "provider_config": fake.provider_config(phone_number_id),
        }},
        headers=member.headers,
    )
    assert response.status_code == 200, response.text
    return WhatsAppInbox(member, response.json())


async def conversations_of(client: httpx.AsyncClient, inbox: WhatsAppInbox) -> list[dict[str, Any]]:
    response = await client.get(
        f"{inbox.account_url}/conversations", params={"status": "all", "assignee_type": "all", "inbox_id": inbox.id}, headers=inbox.member.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["payload"]


async def messages_of(client: httpx.AsyncClient, inbox: WhatsAppInbox, conversation_id: int) -> list[dict[str, Any]]:
    response = await client.get(
        f"{inbox.account_url}/conversations/{conversation_id}/messages", headers=inbox.member.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["payload"]


async def all_messages(client: httpx.AsyncClient, inbox: WhatsAppInbox) -> list[dict[str, Any]]:
    found = []
    for conversation in await conversations_of(client, inbox):
        found.extend(await messages_of(client, inbox, conversation["id"]))
    return sorted(found, key=lambda message: message["id"])
