"""Inbound order per customer under real concurrency: two `nexa serve` processes, each with its worker,
behind one callback URL, as behind a load balancer.

What the pipeline promises (docs/channels/README.md, "Order"): a customer's messages are stored in the
order their webhooks were acknowledged (2xx) — whichever process answered — once each, in one
conversation; a sender that waits for each 2xx before posting the next gets its sending order. Webhooks
of one customer that are in flight *at the same time* have no promised order: Nexa does not sort by the
provider's timestamp, and concurrent requests commit in whatever order they happen to (Meta promises no
delivery order either). For those only "once, in one conversation" is asserted here.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from nexa.channels.inbound_queue import INBOUND_JOB, SHARDS
from nexa.conversations.models import Conversation, Message, MessageType
from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.models import FINAL_STATES, Job
from tests.chaos.helpers import whatsapp_inbox
from tests.fixtures.nexa_process import NexaProcess

pytestmark = pytest.mark.slow

# Customers share shards (number % SHARDS), so one batch interleaves several customers' webhooks.
CUSTOMERS = 6
SHARED_SHARDS = 2
MESSAGES_PER_CUSTOMER = 12
BURST = 12  # one more customer posts this many at once
PROCESSED_WITHIN_SECONDS = 30
ACKED_WITHIN_SECONDS = 15

Webhook = dict[str, Any]


def _number(customer: int) -> str:
    return f"55119{customer * SHARDS // SHARED_SHARDS:08d}"


def _conversation_of(fake: FakeGraph, customer: int, count: int) -> list[tuple[str, Webhook]]:
    """A customer's webhooks, one message each, in the order they write them: (wamid, body)."""
    messages = []
    for n in range(count):
        wamid = f"wamid.ORDER{customer:02d}-{n:03d}"
        text = fake.text_message(f"customer {customer} message {n}", from_=_number(customer), id=wamid)
        messages.append((wamid, fake.webhook(messages=[text])))
    return messages


async def _post_until_acked(fake: FakeGraph, client: httpx.AsyncClient, callback: str, body: Webhook) -> None:
    """Meta's delivery of one webhook: again until it is answered 2xx."""
    deadline = time.monotonic() + ACKED_WITHIN_SECONDS
    while True:
        try:
            if (await fake.post_webhook(client, callback, body)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "a webhook was never accepted"
        await asyncio.sleep(0.1)


async def _stored_by_customer(database: Database) -> dict[str, list[tuple[str, int]]]:
    """Every incoming message as (wamid, conversation id), per customer tag, in stored (id) order."""
    async with database.session(write=False) as session:
        rows = (await session.execute(
            select(Message.source_id, Message.conversation_id)
            .where(Message.message_type == MessageType.incoming).order_by(Message.id)
        )).all()
    stored: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for wamid, conversation_id in rows:
        stored[str(wamid).rsplit("-", 1)[0]].append((str(wamid), conversation_id))
    return stored


async def _conversations_per_contact(database: Database) -> list[int]:
    async with database.session(write=False) as session:
        return list((await session.scalars(
            select(func.count()).select_from(Conversation).group_by(Conversation.contact_id)
        )).all())


async def _wait_until_processed(database: Database, expected_messages: int) -> None:
    """Every stored webhook's job is over and `expected_messages` incoming messages are rows."""
    deadline = time.monotonic() + PROCESSED_WITHIN_SECONDS
    while True:
        async with database.session(write=False) as session:
            live = await session.scalar(select(func.count()).select_from(Job).where(
                Job.kind == INBOUND_JOB, Job.state.not_in(FINAL_STATES)))
            stored = await session.scalar(select(func.count()).select_from(Message).where(
                Message.message_type == MessageType.incoming))
        if not live and stored == expected_messages:
            return
        assert time.monotonic() < deadline, f"{live} webhooks unprocessed, {stored}/{expected_messages} messages stored"
        await asyncio.sleep(0.1)


async def test_each_customer_is_stored_once_in_acknowledged_order_across_two_processes(
    own_database_url: str, tmp_path: Path
) -> None:
    first = NexaProcess(own_database_url, tmp_path / "first", worker=True)
    second = NexaProcess(own_database_url, tmp_path / "second", worker=True)
    database = Database(own_database_url)
    try:
        # Running, for the replies and read marks the workers send; the test only uses its webhooks.
        async with FakeGraph().running() as fake:
            await first.start()  # one at a time: each runs the migrations and the first start's setup
            await second.start()
            _, callback = await whatsapp_inbox(first, fake)
            await _customers_write_through_both(fake, database, [callback, callback.replace(first.url, second.url)])
    finally:
        await database.dispose()
        first.stop()
        second.stop()


async def _customers_write_through_both(fake: FakeGraph, database: Database, callbacks: list[str]) -> None:
    written = {customer: _conversation_of(fake, customer, MESSAGES_PER_CUSTOMER) for customer in range(CUSTOMERS)}
    burst = _conversation_of(fake, CUSTOMERS, BURST)
    expected_messages = CUSTOMERS * MESSAGES_PER_CUSTOMER + BURST
    async with httpx.AsyncClient(timeout=15) as client:
        async def customer_writes(customer: int) -> None:
            # Each message waits for the previous one's 2xx, alternating processes.
            for n, (_, body) in enumerate(written[customer]):
                await _post_until_acked(fake, client, callbacks[(customer + n) % 2], body)

        async def post_at_once(bodies: list[Webhook]) -> None:
            await asyncio.gather(*(
                _post_until_acked(fake, client, callbacks[n % 2], body) for n, body in enumerate(bodies)
            ))

        await asyncio.gather(*(customer_writes(customer) for customer in written),
                             post_at_once([body for _, body in burst]))
        await _wait_until_processed(database, expected_messages)
        before = await _stored_by_customer(database)

        for customer, messages in written.items():
            stored = before[f"wamid.ORDER{customer:02d}"]
            assert [wamid for wamid, _ in stored] == [wamid for wamid, _ in messages], (
                f"customer {customer} stored out of order or not once")
            assert len({conversation for _, conversation in stored}) == 1
        burst_stored = before[f"wamid.ORDER{CUSTOMERS:02d}"]  # once each, in no promised order
        assert sorted(wamid for wamid, _ in burst_stored) == sorted(wamid for wamid, _ in burst)
        assert len({conversation for _, conversation in burst_stored}) == 1
        assert await _conversations_per_contact(database) == [1] * (CUSTOMERS + 1)

        # Meta delivers some webhooks again, to either process, all at once.
        await post_at_once([body for messages in [*written.values(), burst] for _, body in messages[::3]])
    await _wait_until_processed(database, expected_messages)
    assert await _stored_by_customer(database) == before
    assert await _conversations_per_contact(database) == [1] * (CUSTOMERS + 1)
