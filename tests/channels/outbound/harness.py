"""What the delivery and media stories share: a real job worker on the test database, a WhatsApp inbox on
the fake Graph API with a customer who already wrote, and small waiting and API helpers.

Import the fixtures into a conftest.py (`from tests.channels.outbound.harness import worker, ...`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from nexa.config import Settings
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox, conversations_of, create_whatsapp_inbox, messages_of
from tests.factories import make_member
from nexa.devtools.fake_graph import DEFAULT_CUSTOMER, FakeGraph

T = TypeVar("T")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Fast retries and polling so outage stories take a second, not minutes.
    return Settings(
        env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
        worker_poll_interval=0.05, delivery_retry_base_seconds=0.05, delivery_retry_max_seconds=0.2,
        delivery_max_attempts=4,
    )


@pytest.fixture
async def worker(app: Any, runtime: Runtime) -> AsyncIterator[Worker]:
    """A real worker on every queue, in this process, against the test database."""
    running = Worker(runtime.db, runtime.settings)
    await running.start()
    yield running
    await running.stop(timeout=5)
    await runtime.close_http()


@dataclass
class Chat:
    """A WhatsApp conversation a customer started: the inbox, its API URLs, the customer's number."""

    inbox: WhatsAppInbox
    conversation_id: int
    customer: str

    @property
    def url(self) -> str:
        return f"{self.inbox.account_url}/conversations/{self.conversation_id}"

    @property
    def headers(self) -> dict[str, str]:
        return self.inbox.member.headers


@pytest.fixture
async def whatsapp(client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph) -> WhatsAppInbox:
    return await create_whatsapp_inbox(client, await make_member(runtime), fake_graph)


async def customer_writes(
    client: httpx.AsyncClient, fake: FakeGraph, inbox: WhatsAppInbox, text: str = "Oi, quero comprar", *,
    customer: str = DEFAULT_CUSTOMER,
) -> Chat:
    response = await fake.customer_says(client, inbox.callback_path, text, from_=customer)
    assert response.status_code == 200, response.text
    for conversation in await conversations_of(client, inbox):
        if conversation["meta"]["sender"]["phone_number"] == f"+{customer}":
            return Chat(inbox, conversation["id"], customer)
    raise AssertionError(f"no conversation for {customer}")


@pytest.fixture
async def chat(client: httpx.AsyncClient, fake_graph: FakeGraph, whatsapp: WhatsAppInbox) -> Chat:
    return await customer_writes(client, fake_graph, whatsapp)


async def reply(client: httpx.AsyncClient, chat: Chat, content: str | None = "Olá!", **fields: Any) -> httpx.Response:
    return await client.post(f"{chat.url}/messages", json={"content": content, **fields}, headers=chat.headers)


async def sent_reply(client: httpx.AsyncClient, chat: Chat, content: str | None = "Olá!", **fields: Any) -> dict[str, Any]:
    response = await reply(client, chat, content, **fields)
    assert response.status_code == 200, response.text
    return response.json()


async def message(client: httpx.AsyncClient, chat: Chat, message_id: int) -> dict[str, Any]:
    for found in await messages_of(client, chat.inbox, chat.conversation_id):
        if found["id"] == message_id:
            return found
    raise AssertionError(f"message {message_id} not in the conversation")


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 10.0) -> T:
    """Retry `check` until it stops raising AssertionError (returning its value) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def status_becomes(client: httpx.AsyncClient, chat: Chat, message_id: int, status: str, *, timeout: float = 10.0) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        found = await message(client, chat, message_id)
        assert found["status"] == status, found
        return found

    return await eventually(check, timeout=timeout)
