"""Stored webhooks are processed in batches: many webhooks cost a few statements, and a batch keeps the
meaning of each webhook (order, duplicates, replies, edits, receipts within the batch)."""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from nexa.channels import inbound_queue
from nexa.channels.inbound_queue import INBOUND_QUEUE, SHARDS, shard_of
from nexa.channels.whatsapp_cloud.adapter import WhatsAppCloudAdapter
from nexa.conversations.messages import apply_status
from nexa.conversations.models import Conversation, Message, MessageStatus
from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.worker import Worker
from nexa.realtime import Event, EventName, Hub, MemoryBus, conversation_channel, set_hub
from nexa.realtime.hub import Subscription
from nexa.runtime import Runtime
from tests.channels.conftest import inbound_settled
from tests.channels.whatsapp.helpers import WhatsAppInbox, create_whatsapp_inbox
from tests.factories import make_member
from tests.fixtures.fake_graph import fake_graph  # noqa: F401  (makes the fixture available here)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Webhooks posted through this client are only stored: nothing in this process processes them
    until `process_stored` runs a worker, so they queue up and are processed as one batch."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def inbox(http: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph) -> WhatsAppInbox:  # noqa: F811
    return await create_whatsapp_inbox(http, await make_member(runtime), fake_graph)


async def post(http: httpx.AsyncClient, inbox: WhatsAppInbox, fake: FakeGraph, **body: Any) -> None:
    answer = await fake.post_webhook(http, inbox.callback_path, fake.webhook(**body))
    assert answer.status_code == 200, answer.text


_IN_BATCH: contextvars.ContextVar[bool] = contextvars.ContextVar("in_batch", default=False)


async def process_stored(runtime: Runtime) -> int:
    """Run an inbound worker until every stored webhook is processed; the statements its batches took.

    Only the batches' own statements count (taking the jobs behind, storing the rows): the worker's claims
    and periodic work go on for as long as the run lasts, longer for a larger batch on a loaded machine.
    SQLite cannot tell which generated id belongs to which row of a multi-row INSERT, so SQLAlchemy
    inserts rows one statement each there (in-process calls, not round trips): INSERTs are not counted
    on SQLite. PostgreSQL gets one INSERT per table for a whole batch.
    """
    statements = 0
    one_row_inserts = runtime.db.engine.dialect.name == "sqlite"

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal statements
        if _IN_BATCH.get() and not (one_row_inserts and statement.startswith("INSERT")):
            statements += 1

    batches = inbound_queue.with_queued_behind

    async def counted(*args: Any, **kwargs: Any) -> None:
        token = _IN_BATCH.set(True)
        try:
            await batches(*args, **kwargs)
        finally:
            _IN_BATCH.reset(token)

    # The test's own polling goes through another engine, so only the worker's statements are counted.
    watcher = Database(runtime.db.engine.url.render_as_string(hide_password=False), pool_size=1)
    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    inbound_queue.with_queued_behind = counted  # type: ignore[assignment]
    worker = Worker(runtime.db, runtime.settings, queues=[INBOUND_QUEUE])
    await worker.start()
    try:
        await inbound_settled(watcher)
    finally:
        await worker.stop(timeout=5)
        inbound_queue.with_queued_behind = batches
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
        await watcher.dispose()
    return statements


async def stored_messages(runtime: Runtime) -> list[Message]:
    async with runtime.db.session(write=False) as session:
        return list((await session.scalars(select(Message).order_by(Message.id))).all())


async def test_a_batch_keeps_order_duplicates_replies_edits_and_receipts(
    http: httpx.AsyncClient, inbox: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph  # noqa: F811
) -> None:
    customer = "5511987650001"
    first = fake_graph.text_message("quero 2", id="wamid.B1", from_=customer)
    await post(http, inbox, fake_graph, messages=[first])
    await post(http, inbox, fake_graph, messages=[first])  # Meta's retry of the same webhook
    await post(http, inbox, fake_graph, messages=[
        fake_graph.text_message("esse aqui", id="wamid.B2", from_=customer, context={"from": customer, "id": "wamid.B1"}),
    ])
    await post(http, inbox, fake_graph, messages=[fake_graph.message(
        "edit", {"original_message_id": "wamid.B1", "message": {"type": "text", "text": {"body": "quero 3"}}}, from_=customer,
    )])
    # A receipt right behind its message: it finds the message stored earlier in the same batch.
    await post(http, inbox, fake_graph, messages=[fake_graph.text_message("já te respondo", id="wamid.B3", from_=customer)])
    await post(http, inbox, fake_graph, statuses=[fake_graph.status("wamid.B3", "read", recipient=customer)])

    await process_stored(runtime)

    stored = await stored_messages(runtime)
    assert [m.source_id for m in stored] == ["wamid.B1", "wamid.B2", "wamid.B3"]
    assert stored[0].content == "quero 3" and stored[0].content_attributes["edited"] is True
    assert stored[1].content_attributes["in_reply_to"] == stored[0].id
    assert stored[2].status == MessageStatus.read
    assert len({m.conversation_id for m in stored}) == 1
    async with runtime.db.session(write=False) as session:
        [conversation] = (await session.scalars(select(Conversation))).all()
    assert conversation.last_activity_at == max(m.created_at for m in stored)


async def test_a_batch_costs_the_same_few_statements_whatever_its_size(
    http: httpx.AsyncClient, inbox: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph  # noqa: F811
) -> None:
    # Known customers in open conversations (the common case in a burst); one number, so one shard.
    customer = "5511987650003"

    async def burst(tag: str, size: int) -> int:
        for n in range(size):
            await post(http, inbox, fake_graph, messages=[fake_graph.text_message(f"{tag} {n}", from_=customer)])
        return await process_stored(runtime)

    await burst("warm-up", 1)
    small, large = await burst("small", 5), await burst("large", 40)

    assert len(await stored_messages(runtime)) == 46
    # Per-message work would add well over a hundred statements between 5 and 40 webhooks.
    assert large <= small + 5, (small, large)


def test_a_customers_receipts_share_the_shard_of_their_messages_and_spread_over_shards(fake_graph: FakeGraph) -> None:  # noqa: F811
    def shard(**body: Any) -> int:
        return shard_of(WhatsAppCloudAdapter().parse(json.dumps(fake_graph.webhook(**body)).encode()))

    customers = [f"55119{n:08d}" for n in range(1, 40)]
    for customer in customers:
        assert shard(statuses=[fake_graph.status("wamid.X", "delivered", recipient=customer)]) == shard(
            messages=[fake_graph.text_message("oi", from_=customer)]
        )
    assert len({shard(statuses=[fake_graph.status("wamid.X", "read", recipient=c)]) for c in customers}) == SHARDS


async def test_receipts_in_a_batch_move_their_messages_forward_and_tell_subscribers(
    http: httpx.AsyncClient, inbox: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph  # noqa: F811
) -> None:
    """A message that only receipts refer to is moved on a plain row, one that the batch's new message also
    quotes on its ORM object: both move the same way, store the same columns and say the same events."""
    customer = "5511987650004"
    await post(http, inbox, fake_graph, messages=[fake_graph.text_message("oi", id="wamid.C1", from_=customer)])
    await process_stored(runtime)
    async with runtime.db.session(write=False) as session:
        [conversation] = (await session.scalars(select(Conversation))).all()
    replies = {}
    for wamid in ("wamid.R_ONLY", "wamid.R_QUOTED"):
        answer = await http.post(f"{inbox.account_url}/conversations/{conversation.display_id}/messages",
                                 json={"content": wamid}, headers=inbox.member.headers)
        assert answer.status_code == 200, answer.text
        async with runtime.db.session() as session:
            message = await session.get(Message, answer.json()["id"])
            assert message is not None
            await apply_status(session, message, conversation, MessageStatus.sent, source_id=wamid)
        replies[wamid] = answer.json()["id"]
    async with runtime.db.session(write=False) as session:
        sent_at = (await session.get(Message, replies["wamid.R_ONLY"])).updated_at  # type: ignore[union-attr]

    for wamid in replies:
        await post(http, inbox, fake_graph, statuses=[
            fake_graph.status(wamid, "failed", recipient=customer, error_code=131047),
            fake_graph.status(wamid, "delivered", recipient=customer),
        ])
    await post(http, inbox, fake_graph, messages=[
        fake_graph.text_message("sobre isso", id="wamid.C2", from_=customer, context={"from": customer, "id": "wamid.R_QUOTED"}),
    ])
    await post(http, inbox, fake_graph, statuses=[fake_graph.status(wamid, "read", recipient=customer) for wamid in replies])
    hub = Hub(MemoryBus(), queue_size=64)
    await hub.start()
    set_hub(hub)
    try:
        async with hub.connect([conversation_channel(conversation.id)]) as socket:
            await process_stored(runtime)
            events = [event async for event in _queued(socket)]
    finally:
        set_hub(None)
        await hub.stop()

    stored = {m.source_id: m for m in await stored_messages(runtime)}
    for wamid, message_id in replies.items():
        assert stored[wamid].status == MessageStatus.read and stored[wamid].external_error is None
        said = [e.data["status"] for e in events if e.name == EventName.MESSAGE_UPDATED and e.data["id"] == message_id]
        assert said == ["failed", "delivered", "read"], (wamid, said)
    assert stored["wamid.R_ONLY"].updated_at > sent_at
    assert stored["wamid.C2"].content_attributes["in_reply_to"] == replies["wamid.R_QUOTED"]


async def _queued(socket: Subscription) -> AsyncIterator[Event]:
    while (event := socket.take()) is not None:
        yield event
