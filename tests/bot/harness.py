"""What the bot stories share: a WhatsApp inbox on the fake Graph API with the built-in bot on, a real
worker, customers who write or tap buttons through the signed webhook, and reads through the API."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.models import AVAILABLE, EXECUTING, RETRYABLE, Job, state_is
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox, conversations_of, create_whatsapp_inbox, messages_of
from tests.factories import make_member


async def enable_bot(client: httpx.AsyncClient, inbox: WhatsAppInbox, **changes: Any) -> None:
    response = await client.patch(
        f"{inbox.account_url}/inboxes/{inbox.id}", json={"bot_enabled": True, **changes}, headers=inbox.member.headers
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def bot_inbox(client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph) -> WhatsAppInbox:
    inbox = await create_whatsapp_inbox(client, await make_member(runtime), fake_graph)
    await enable_bot(client, inbox)
    return inbox


async def settle(runtime: Runtime, timeout: float = 15.0) -> None:
    """Wait until no job is due or running (scheduled follow-ups stay scheduled)."""
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.db.session(write=False) as session:
            busy = (await session.execute(
                select(Job.kind, Job.state, Job.attempt, Job.errors).where(state_is(AVAILABLE, EXECUTING, RETRYABLE)).limit(10)
            )).all()
        if not busy:
            return
        assert time.monotonic() < deadline, f"jobs did not settle, e.g. {busy}"
        await asyncio.sleep(0.02)


@dataclass
class Customer:
    client: httpx.AsyncClient
    runtime: Runtime
    fake: FakeGraph
    inbox: WhatsAppInbox
    number: str = "5511988887777"
    name: str = "Maria"
    heard: int = field(default=0)

    async def says(self, text: str) -> list[str]:
        """Write on WhatsApp and return what came back (the bot's sends, as texts)."""
        response = await self.fake.customer_says(self.client, self.inbox.callback_path, text, from_=self.number, name=self.name)
        assert response.status_code == 200, response.text
        return await self._replies()

    async def taps(self, button_id: str, title: str) -> list[str]:
        tap = self.fake.message("interactive", {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}, from_=self.number)
        response = await self.fake.post_webhook(self.client, self.inbox.callback_path, self.fake.webhook(messages=[tap], name=self.name))
        assert response.status_code == 200, response.text
        return await self._replies()

    async def _replies(self) -> list[str]:
        await settle(self.runtime)
        mine = [record for record in self.fake.sent if record.to == self.number]
        new, self.heard = mine[self.heard:], len(mine)
        return [_text_of(record.body) for record in new]

    def buttons(self) -> list[str]:
        """The ids of the options in the last message sent to this customer."""
        last = [record for record in self.fake.sent if record.to == self.number][-1].body
        action = last.get("interactive", {}).get("action", {})
        if "buttons" in action:
            return [button["reply"]["id"] for button in action["buttons"]]
        return [row["id"] for section in action.get("sections", []) for row in section["rows"]]

    async def conversation(self) -> dict[str, Any]:
        for conversation in await conversations_of(self.client, self.inbox):
            if conversation["meta"]["sender"]["phone_number"] == f"+{self.number}":
                return conversation
        raise AssertionError(f"no conversation for {self.number}")

    async def messages(self) -> list[dict[str, Any]]:
        return await messages_of(self.client, self.inbox, (await self.conversation())["id"])

    async def contact(self) -> dict[str, Any]:
        contact_id = (await self.conversation())["meta"]["sender"]["id"]
        response = await self.client.get(f"{self.inbox.account_url}/contacts/{contact_id}", headers=self.inbox.member.headers)
        assert response.status_code == 200, response.text
        return response.json()["payload"]


def _text_of(body: dict[str, Any]) -> str:
    if body["type"] == "text":
        return body["text"]["body"]
    if body["type"] == "interactive":
        return body["interactive"]["body"]["text"]
    return body["type"]
