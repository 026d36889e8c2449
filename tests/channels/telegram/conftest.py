"""A Telegram bot inbox wired to the fake Bot API, created and connected the way an admin does it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from nexa.runtime import Runtime
from tests.factories import CreatedInbox, make_member
from tests.fixtures.fake_telegram import FakeTelegram
from nexa.devtools.servers import RunningServer, serve


@dataclass
class TelegramInbox(CreatedInbox):
    fake: FakeTelegram


@pytest.fixture
async def telegram_server() -> AsyncIterator[tuple[FakeTelegram, RunningServer]]:
    fake = FakeTelegram()
    async with serve(fake.app) as server:
        yield fake, server


@pytest.fixture
async def telegram(
    client: httpx.AsyncClient, runtime: Runtime, telegram_server: tuple[FakeTelegram, RunningServer]
) -> TelegramInbox:
    """A bot inbox whose webhook Nexa set with setWebhook."""
    fake, server = telegram_server
    member = await make_member(runtime)
    created = await client.post(
        f"/api/v1/accounts/{member.account.id}/inboxes",
        json={"name": "Bot", "channel": {"type": "telegram", "bot_token": fake.token, "api_base_url": server.url}},
        headers=member.headers,
    )
    assert created.status_code == 200, created.text
    inbox = TelegramInbox(member, created.json(), fake)
    setup = await client.post(f"{inbox.account_url}/inboxes/{inbox.id}/setup_webhook", headers=member.headers)
    assert setup.status_code == 200, setup.text
    return inbox


async def conversations_of(client: httpx.AsyncClient, inbox: TelegramInbox) -> list[dict[str, Any]]:
    response = await client.get(
        f"{inbox.account_url}/conversations", params={"status": "all", "assignee_type": "all", "inbox_id": inbox.id},
        headers=inbox.member.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["payload"]


async def messages_of(client: httpx.AsyncClient, inbox: TelegramInbox, conversation_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"{inbox.account_url}/conversations/{conversation_id}/messages", headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    return response.json()["payload"]
