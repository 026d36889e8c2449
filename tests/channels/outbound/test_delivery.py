"""An agent's reply reaches the customer on WhatsApp, once, in order, and the ticks follow."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.channels import outbound
from nexa.conversations.models import Message
from nexa.jobs.models import Job
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.channels.outbound.harness import (
    Chat,
    customer_writes,
    eventually,
    reply,
    sent_reply,
    status_becomes,
)
from nexa.devtools.fake_graph import FakeGraph


async def test_agent_reply_reaches_the_customer_and_ticks_follow(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    fake_graph.send_receipts_to(client, chat.inbox.callback_path, ("sent", "delivered", "read"))

    created = await sent_reply(client, chat, "Temos sim! Qual tamanho?")
    assert created["status"] == "pending"

    read = await status_becomes(client, chat, created["id"], "read")
    [sent] = fake_graph.sent
    assert (sent.to, sent.type, sent.text) == (chat.customer, "text", "Temos sim! Qual tamanho?")
    assert read["source_id"] == sent.id


async def test_a_reply_quoting_the_customer_carries_the_context(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    [incoming] = [m for m in (await client.get(f"{chat.url}/messages", headers=chat.headers)).json()["payload"]
                  if m["message_type"] == 0]

    created = await sent_reply(client, chat, "Sobre isso:", content_attributes={"in_reply_to": incoming["id"]})

    await status_becomes(client, chat, created["id"], "sent")
    assert fake_graph.sent[0].body["context"] == {"message_id": incoming["source_id"]}


async def test_provider_down_for_a_while_every_reply_arrives_once_in_order(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    other = await customer_writes(client, fake_graph, chat.inbox, "Oi", customer="5521988887777")
    fake_graph.fail_next(3, status=500)

    first = [await sent_reply(client, chat, f"Maria {n}") for n in range(1, 5)]
    second = [await sent_reply(client, other, f"João {n}") for n in range(1, 4)]

    for created in first:
        await status_becomes(client, chat, created["id"], "sent")
    for created in second:
        await status_becomes(client, other, created["id"], "sent")
    texts = [record.text for record in fake_graph.sent]
    assert sorted(texts) == sorted({*texts}), "a message was sent twice"
    assert [t for t in texts if t.startswith("Maria")] == ["Maria 1", "Maria 2", "Maria 3", "Maria 4"]
    assert [t for t in texts if t.startswith("João")] == ["João 1", "João 2", "João 3"]


async def test_throttled_by_whatsapp_the_reply_is_sent_again(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    fake_graph.fail_next(2, code=130429)

    created = await sent_reply(client, chat, "Já te respondo")

    await status_becomes(client, chat, created["id"], "sent")
    assert [record.text for record in fake_graph.sent] == ["Já te respondo"]


async def test_a_permanent_refusal_fails_with_whatsapps_reason_in_plain_words(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    fake_graph.fail_next(1, code=131047)

    created = await sent_reply(client, chat, "Ainda tem interesse?")

    failed = await status_becomes(client, chat, created["id"], "failed")
    assert failed["external_error"] == (
        "More than 24 hours have passed since the customer last wrote: send an approved template."
    )
    assert fake_graph.sent == []


async def test_after_the_last_attempt_the_reply_fails_saying_so(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    fake_graph.fail_next(50, status=503)

    created = await sent_reply(client, chat, "Alô?")

    failed = await status_becomes(client, chat, created["id"], "failed")
    assert failed["external_error"].startswith("Could not reach WhatsApp after 4 attempts: ")
    fake_graph.reset()


async def test_failed_earlier_reply_does_not_hold_back_the_next(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    fake_graph.fail_next(1, code=131026)

    first = await sent_reply(client, chat, "Primeira")
    second = await sent_reply(client, chat, "Segunda")

    await status_becomes(client, chat, first["id"], "failed")
    await status_becomes(client, chat, second["id"], "sent")


async def test_private_notes_and_api_inboxes_are_not_delivered_by_a_job(
    client: httpx.AsyncClient, runtime: Runtime, chat: Chat
) -> None:
    note = await sent_reply(client, chat, "Cliente VIP", private=True)
    assert note["status"] == "sent"
    api_inbox = (await client.post(
        f"{chat.inbox.account_url}/inboxes", json={"name": "API", "channel": {"type": "api"}}, headers=chat.headers
    )).json()
    contact = (await client.post(
        f"{chat.inbox.account_url}/contacts", json={"name": "Ana", "inbox_id": api_inbox["id"]}, headers=chat.headers
    )).json()["payload"]["contact"]
    conversation = (await client.post(
        f"{chat.inbox.account_url}/conversations", json={"inbox_id": api_inbox["id"], "contact_id": contact["id"]},
        headers=chat.headers,
    )).json()
    response = await client.post(
        f"{chat.inbox.account_url}/conversations/{conversation['id']}/messages", json={"content": "Oi"},
        headers=chat.headers,
    )
    assert response.status_code == 200, response.text

    async with runtime.db.session(write=False) as session:
        kinds = (await session.execute(select(Job.kind, func.count()).group_by(Job.kind))).all()
    assert dict(kinds).get("channels.deliver", 0) == 0


async def test_every_reply_gets_exactly_one_delivery_job_in_its_transaction(
    client: httpx.AsyncClient, runtime: Runtime, chat: Chat
) -> None:
    created = await sent_reply(client, chat, "Olá")

    async with runtime.db.session(write=False) as session:
        [job] = (await session.scalars(select(Job).where(Job.kind == "channels.deliver"))).all()
    assert job.args == {"message_id": created["id"]}
    assert (job.queue, job.dedupe_key) == ("deliveries", f"deliver:{created['id']}")
    assert job.concurrency_key.startswith("conversation:")


async def test_the_number_rate_limit_spaces_sends_without_losing_any(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    await client.patch(
        f"{chat.inbox.account_url}/inboxes/{chat.inbox.id}", json={"channel_config": {"rate_per_second": 5}},
        headers=chat.headers,
    )
    others = [await customer_writes(client, fake_graph, chat.inbox, "Oi", customer=f"55219888800{n:02d}") for n in range(8)]

    started = time.monotonic()
    created = [(other, await sent_reply(client, other, "Promoção")) for other in others]

    for other, reply_json in created:
        await status_becomes(client, other, reply_json["id"], "sent", timeout=15)
    assert len(fake_graph.sent) == 8
    # A bucket of 5 a second: the first 5 go at once, the other 3 wait their turn (0.2 s each).
    assert time.monotonic() - started >= 0.5


async def test_bad_reply_shape_is_a_clear_422(client: httpx.AsyncClient, chat: Chat) -> None:
    response = await reply(client, chat, None)
    assert response.status_code == 422
    assert response.json() == {"error": "Content can't be blank"}


async def _replies_waiting_in_conversations(client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, count: int) -> list[int]:
    """One pending reply in each of `count` conversations, with no delivery worker running yet."""
    chats = [chat] + [
        await customer_writes(client, fake_graph, chat.inbox, "Oi", customer=f"55219888800{n:02d}") for n in range(1, count)
    ]
    return [(await sent_reply(client, one, f"Resposta {n}"))["id"] for n, one in enumerate(chats)]


async def _sent_statuses(runtime: Runtime, message_ids: list[int]) -> dict[int, str]:
    async with runtime.db.session(write=False) as session:
        rows = await session.execute(select(Message.id, Message.status).where(Message.id.in_(message_ids)))
        return {message_id: status.value for message_id, status in rows}


async def test_replies_waiting_in_several_conversations_go_out_as_one_chunk(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_ids = await _replies_waiting_in_conversations(client, fake_graph, chat, 4)
    reads: list[list[int]] = []
    records: list[list[int]] = []
    load_pending, mark_sent = outbound._load_pending, outbound._mark_sent

    async def spied_load(session: AsyncSession, ids: list[int]) -> Any:
        reads.append(sorted(ids))
        return await load_pending(session, ids)

    async def spied_mark(session: AsyncSession, sent: Any) -> None:
        records.append(sorted(item.args["message_id"] for item, _answer in sent))
        await mark_sent(session, sent)

    monkeypatch.setattr(outbound, "_load_pending", spied_load)
    monkeypatch.setattr(outbound, "_mark_sent", spied_mark)
    await _deliver_all(runtime, message_ids)
    # One claim took the four jobs: one read, four sends, one transaction recording them.
    assert reads == [sorted(message_ids)] and records == [sorted(message_ids)]
    assert sorted(record.text for record in fake_graph.sent) == [f"Resposta {n}" for n in range(4)]


async def test_a_reply_whose_record_fails_does_not_get_the_rest_of_its_chunk_sent_again(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_ids = await _replies_waiting_in_conversations(client, fake_graph, chat, 3)
    broken = message_ids[1]
    mark_sent = outbound._mark_sent
    failures = {"left": 2}  # the chunk's record, then the broken reply's own; its retry records fine

    async def flaky_mark(session: AsyncSession, sent: Any) -> None:
        if failures["left"] and any(item.args["message_id"] == broken for item, _answer in sent):
            failures["left"] -= 1
            raise RuntimeError("the database hiccuped")
        await mark_sent(session, sent)

    monkeypatch.setattr(outbound, "_mark_sent", flaky_mark)
    await _deliver_all(runtime, message_ids)
    texts = sorted(record.text for record in fake_graph.sent)
    # The broken reply was sent again (its success was never recorded: at least once); the others once.
    assert texts == ["Resposta 0", "Resposta 1", "Resposta 1", "Resposta 2"]


async def _deliver_all(runtime: Runtime, message_ids: list[int]) -> None:
    """Run a delivery worker until every one of these replies is sent."""
    worker = Worker(runtime.db, runtime.settings, queues=["deliveries"])
    await worker.start()
    try:
        await eventually(lambda: _all_sent(runtime, message_ids))
    finally:
        await worker.stop(timeout=5)


async def _all_sent(runtime: Runtime, message_ids: list[int]) -> None:
    assert await _sent_statuses(runtime, message_ids) == {message_id: "sent" for message_id in message_ids}
