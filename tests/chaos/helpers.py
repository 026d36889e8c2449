"""What the chaos tests share: a WhatsApp inbox on a running Nexa, Meta-style webhooks with retries, and
the final check that every message Nexa acknowledged is stored exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from sqlalchemy import select

from nexa.conversations.models import Message, MessageType
from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph
from tests.fixtures.nexa_process import NexaProcess

CONCURRENCY = 16


async def whatsapp_inbox(nexa: NexaProcess, fake: FakeGraph) -> tuple[str, str]:
    """A WhatsApp Cloud inbox on the running `fake`: (account API URL, webhook callback URL)."""
    async with httpx.AsyncClient(base_url=nexa.url, timeout=10) as client:
        headers = await nexa.admin_headers()
        account_id = (await client.get("/api/v1/profile", headers=headers)).json()["account_id"]
        inbox = await client.post(
            f"/api/v1/accounts/{account_id}/inboxes",
            json={"name": "WhatsApp", "channel": {"type": "whatsapp", "phone_number": "+15550783881",
                                                   "provider": "whatsapp_cloud",
                                                   "provider_config": fake.provider_config()}},
            headers=headers,
        )
        assert inbox.status_code == 200, inbox.text
        return f"{nexa.url}/api/v1/accounts/{account_id}", inbox.json()["callback_webhook_url"]


def customer_messages(fake: FakeGraph, tag: str, count: int, customers: int = 10) -> dict[str, dict[str, Any]]:
    """`count` one-message webhooks from `customers` numbers, keyed by their wamid."""
    bodies = {}
    for n in range(count):
        wamid = f"wamid.{tag}{n:05d}"
        bodies[wamid] = fake.webhook(messages=[fake.text_message(f"{tag} {n}", from_=f"55119{n % customers:08d}", id=wamid)])
    return bodies


async def post_all(fake: FakeGraph, callback: str, bodies: dict[str, dict[str, Any]],
                   wamids: Iterable[str]) -> dict[str, httpx.Response | None]:
    """POST each webhook (CONCURRENCY at a time); the answer per wamid, None when the connection failed."""
    gate = asyncio.Semaphore(CONCURRENCY)
    answers: dict[str, httpx.Response | None] = {}
    async with httpx.AsyncClient(timeout=15) as client:
        async def one(wamid: str) -> None:
            async with gate:
                try:
                    answers[wamid] = await fake.post_webhook(client, callback, bodies[wamid])
                except httpx.TransportError:
                    answers[wamid] = None
        await asyncio.gather(*(one(wamid) for wamid in wamids))
    return answers


def acked(answers: dict[str, httpx.Response | None]) -> set[str]:
    return {wamid for wamid, answer in answers.items() if answer is not None and answer.status_code == 200}


async def retry_until_acked(fake: FakeGraph, callback: str, bodies: dict[str, dict[str, Any]],
                            wamids: Iterable[str], *, timeout: float = 15) -> None:
    """Meta's retries: POST again whatever was not answered 200 until everything is."""
    pending = set(wamids)
    deadline = time.monotonic() + timeout
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} webhooks still not accepted"
        pending -= acked(await post_all(fake, callback, bodies, sorted(pending)))
        if pending:
            await asyncio.sleep(0.2)


async def stored_incoming(database: Database) -> list[str]:
    """Source ids of every incoming message stored (repeated if stored twice)."""
    async with database.session(write=False) as session:
        return list((await session.scalars(
            select(Message.source_id).where(Message.message_type == MessageType.incoming)
        )).all())


async def assert_stored_exactly_once(database: Database, expected: set[str], *, timeout: float = 20) -> None:
    """Every message in `expected` ends up stored, none twice. Waits (bounded) because a 2xx may mean
    "durably queued" with the message row written by a job right after."""
    deadline = time.monotonic() + timeout
    while True:
        stored = await stored_incoming(database)
        duplicates = {source for source, times in Counter(stored).items() if times > 1}
        assert not duplicates, f"stored twice: {sorted(duplicates)[:5]}"
        missing = expected - set(stored)
        if not missing:
            return
        assert time.monotonic() < deadline, f"acknowledged but lost: {len(missing)}, e.g. {sorted(missing)[:5]}"
        await asyncio.sleep(0.1)


async def wait_for(condition: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
