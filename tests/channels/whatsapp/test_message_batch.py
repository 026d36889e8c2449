"""A MessageBatch stores its messages with their jobs and events, or the transaction does not commit."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from nexa.conversations.messages import DELIVERY_JOB, MessageBatch, NewMessage, Sender
from nexa.conversations.models import Conversation, Message, MessageType
from nexa.devtools.fake_graph import FakeGraph
from nexa.inboxes.models import Inbox
from nexa.jobs.models import Job
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox


async def _replies_and_deliveries(runtime: Runtime) -> tuple[int, int]:
    async with runtime.db.session(write=False) as session:
        replies = await session.scalar(select(func.count()).select_from(Message).where(Message.message_type == MessageType.outgoing))
        deliveries = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == DELIVERY_JOB))
    return int(replies or 0), int(deliveries or 0)


async def test_a_batch_commits_its_messages_with_their_deliveries_and_never_without(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, whatsapp: WhatsAppInbox
) -> None:
    # The customer's conversation (the client waits for the inbound batch; no worker sends anything).
    assert (await fake_graph.customer_says(client, whatsapp.callback_path, "Oi")).status_code == 200

    async def reply(text: str, *, write: bool) -> None:
        async with runtime.db.session() as session:
            conversation = await session.scalar(select(Conversation))
            inbox = await session.get(Inbox, whatsapp.id)
            assert conversation is not None and inbox is not None
            batch = MessageBatch(session)
            await batch.add(NewMessage(conversation, inbox, MessageType.outgoing, text, Sender()))
            if write:
                await batch.write()

    with pytest.raises(RuntimeError, match="never written"):
        await reply("Esquecida", write=False)
    assert await _replies_and_deliveries(runtime) == (0, 0)

    await reply("Olá!", write=True)
    assert await _replies_and_deliveries(runtime) == (1, 1)
