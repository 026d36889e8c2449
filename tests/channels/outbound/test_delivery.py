"""An agent's reply reaches the customer on WhatsApp, once, in order, and the ticks follow."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select

from nexa.jobs.models import Job
from nexa.runtime import Runtime
from tests.channels.outbound.harness import (
    Chat,
    customer_writes,
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
