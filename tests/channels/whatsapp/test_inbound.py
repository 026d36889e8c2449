"""A customer writes on WhatsApp: Meta's webhooks reach Nexa and become contacts, conversations and messages."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy import select

from nexa.channels import inbound
from nexa.channels.inbound import apply_early_receipts
from nexa.channels.models import EarlyReceipt
from nexa.conversations.messages import apply_status
from nexa.conversations.models import Conversation, Message, MessageStatus
from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.models import Job
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import (
    WhatsAppInbox,
    all_messages,
    conversations_of,
    create_whatsapp_inbox,
    messages_of,
)
from tests.spies import record_chunk_sizes


async def test_meta_verifies_the_callback_url(client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph) -> None:
    challenge = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": fake_graph.verify_token}
    verified = await client.get(whatsapp.callback_path, params=challenge)
    assert verified.status_code == 200 and verified.text == "1158201444"
    assert verified.headers["content-type"].startswith("text/plain")

    wrong_token = await client.get(whatsapp.callback_path, params={**challenge, "hub.verify_token": "guess"})
    wrong_mode = await client.get(whatsapp.callback_path, params={**challenge, "hub.mode": "unsubscribe"})
    assert wrong_token.status_code == 403 and wrong_mode.status_code == 403


async def test_only_bodies_signed_with_the_app_secret_are_accepted(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    raw, headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("Oi")]))
    unsigned = await client.post(whatsapp.callback_path, content=raw, headers={"content-type": "application/json"})
    forged = await client.post(whatsapp.callback_path, content=raw, headers={**headers, "x-hub-signature-256": "sha256=" + "0" * 64})
    tampered = await client.post(whatsapp.callback_path, content=raw.replace(b"Oi", b"Ol"), headers=headers)
    assert (unsigned.status_code, forged.status_code, tampered.status_code) == (401, 403, 403)
    assert await all_messages(client, whatsapp) == []

    accepted = await client.post(whatsapp.callback_path, content=raw, headers=headers)
    assert accepted.status_code == 200
    assert [message["content"] for message in await all_messages(client, whatsapp)] == ["Oi"]


async def test_a_customer_text_becomes_a_contact_conversation_and_message(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    answer = await fake_graph.customer_says(client, whatsapp.callback_path, "Oi, preciso de ajuda", from_="5511987654321", name="Maria")
    assert answer.status_code == 200, answer.text

    [conversation] = await conversations_of(client, whatsapp)
    contact = conversation["meta"]["sender"]
    assert contact["name"] == "Maria" and contact["phone_number"] == "+5511987654321"
    [message] = await messages_of(client, whatsapp, conversation["id"])
    assert message["content"] == "Oi, preciso de ajuda" and message["message_type"] == 0
    assert message["source_id"].startswith("wamid.") and message["sender"]["type"] == "contact"

    # The same person's number without the Brazilian 9th digit (older wa_ids) is the same contact.
    await fake_graph.customer_says(client, whatsapp.callback_path, "Sou eu de novo", from_="551187654321", name="Maria")
    contacts = await client.get(f"{whatsapp.account_url}/contacts", headers=whatsapp.member.headers)
    assert [c["id"] for c in contacts.json()["payload"]] == [contact["id"]]
    assert [m["content"] for m in await all_messages(client, whatsapp)] == ["Oi, preciso de ajuda", "Sou eu de novo"]


async def test_every_message_type_is_stored_none_dropped(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    fake = fake_graph
    wamid = "wamid.ORIGINAL"
    messages = [
        fake.text_message("texto", id=wamid),
        fake.media_message("image", "111", caption="foto"),
        fake.message("audio", {"id": "222", "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "voice": True}),
        fake.media_message("video", "333", mime_type="video/mp4"),
        fake.message("document", {"id": "444", "mime_type": "application/pdf", "sha256": "x", "filename": "nota.pdf", "caption": "nota"}),
        fake.message("sticker", {"id": "555", "mime_type": "image/webp", "sha256": "x", "animated": False}),
        fake.message("location", {"latitude": -23.55, "longitude": -46.63, "name": "Loja", "address": "Av. Paulista"}),
        fake.message("contacts", [{"name": {"formatted_name": "João Silva"}, "phones": [{"phone": "+55 11 91234-5678", "type": "CELL"}]}]),
        fake.message("interactive", {"type": "button_reply", "button_reply": {"id": "talk_to_agent", "title": "Talk to agent"}}),
        fake.message("interactive", {"type": "list_reply", "list_reply": {"id": "billing", "title": "Billing", "description": "Invoices"}}),
        fake.message("interactive", {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": json.dumps({"cpf": "123"})}}),
        fake.message("button", {"payload": "STOP_PROMOS", "text": "Parar promoções"}),
        fake.message("reaction", {"message_id": wamid, "emoji": "\U0001f44d"}),
        fake.message("reaction", {"message_id": wamid}),
        fake.message("order", {"catalog_id": "c1", "text": "quero", "product_items": [{"product_retailer_id": "sku1", "quantity": 2, "item_price": 9.9, "currency": "BRL"}]}),
        fake.message("system", {"body": "Maria changed her number", "type": "user_changed_number", "wa_id": "5511900000000"}),
        fake.message("unsupported", None, errors=[{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]),
        fake.message("poll_v9", {"question": "?"}),
    ]
    answer = await fake.post_webhook(client, whatsapp.callback_path, fake.webhook(messages=messages))
    assert answer.status_code == 200

    stored = await all_messages(client, whatsapp)
    by_kind = dict(zip([m["type"] + (m.get("interactive", {}).get("type") or "") for m in messages], stored, strict=False))
    assert len(stored) == len(messages)
    assert by_kind["text"]["content"] == "texto"
    image = by_kind["image"]
    assert image["content"] == "foto" and image["attachments"][0]["file_type"] == "image"
    assert image["attachments"][0]["meta"]["provider_media_id"] == "111"
    assert by_kind["audio"]["attachments"][0]["meta"]["voice"] is True
    assert by_kind["video"]["attachments"][0]["content_type"] == "video/mp4"
    assert by_kind["document"]["attachments"][0]["file_type"] == "file" and by_kind["document"]["attachments"][0]["meta"]["filename"] == "nota.pdf"
    assert by_kind["sticker"]["attachments"][0]["file_type"] == "sticker"
    location = by_kind["location"]
    assert location["content"] == "Loja" and location["attachments"][0]["meta"]["latitude"] == -23.55
    assert by_kind["contacts"]["attachments"][0]["meta"]["name"] == "João Silva"
    assert stored[8]["content"] == "Talk to agent" and stored[8]["content_attributes"]["interactive_reply"]["id"] == "talk_to_agent"
    assert stored[9]["content_attributes"]["interactive_reply"] == {"type": "list_reply", "id": "billing", "title": "Billing", "description": "Invoices"}
    assert stored[10]["content_attributes"]["interactive_reply"]["response"] == {"cpf": "123"}
    assert stored[11]["content"] == "Parar promoções" and stored[11]["content_attributes"]["interactive_reply"]["id"] == "STOP_PROMOS"
    reaction, removal = stored[12], stored[13]
    assert reaction["content"] == "\U0001f44d" and reaction["content_attributes"]["is_reaction"] is True
    assert reaction["content_attributes"]["in_reply_to"] == stored[0]["id"]
    assert removal["content"] == "" and removal["content_attributes"]["is_reaction"] is True
    assert stored[14]["content_attributes"]["order"]["product_items"][0]["product_retailer_id"] == "sku1"
    assert stored[15]["content_attributes"]["system"]["type"] == "user_changed_number"
    unsupported, unknown = stored[16], stored[17]
    assert unsupported["content_attributes"]["unsupported"]["errors"][0]["code"] == 131051
    assert "not support" in unsupported["content_attributes"]["external_error"]
    assert unknown["content_attributes"]["unsupported"]["type"] == "poll_v9"


async def test_one_post_with_several_entries_messages_and_statuses(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    first = fake_graph.webhook(messages=[fake_graph.text_message("um", from_="5511911110001"), fake_graph.text_message("dois", from_="5511911110002")])
    second = fake_graph.webhook(
        messages=[fake_graph.text_message("três", from_="5511911110001")],
        statuses=[fake_graph.status("wamid.NOT_YET_KNOWN", "delivered")],
    )
    body = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"]}
    answer = await fake_graph.post_webhook(client, whatsapp.callback_path, body)
    assert answer.status_code == 200
    assert [m["content"] for m in await all_messages(client, whatsapp)] == ["um", "dois", "três"]
    assert len(await conversations_of(client, whatsapp)) == 2


async def test_the_same_webhook_three_times_is_one_message(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    body = fake_graph.webhook(messages=[fake_graph.text_message("só uma vez")])
    for _ in range(3):
        answer = await fake_graph.post_webhook(client, whatsapp.callback_path, body)
        assert answer.status_code == 200
        assert [m["content"] for m in await all_messages(client, whatsapp)] == ["só uma vez"]


async def _agent_reply(client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph, wamid: str | None) -> dict:
    """A customer writes, an agent answers; the delivery job's part (storing Meta's wamid) is done directly."""
    await fake_graph.customer_says(client, whatsapp.callback_path, "Oi")
    [conversation] = await conversations_of(client, whatsapp)
    reply = await client.post(
        f"{whatsapp.account_url}/conversations/{conversation['id']}/messages", json={"content": "Olá!"}, headers=whatsapp.member.headers
    )
    assert reply.status_code == 200, reply.text
    if wamid is not None:
        async with runtime.db.session() as session:
            message = await session.get(Message, reply.json()["id"])
            assert message is not None
            conversation_row = await session.get(Conversation, message.conversation_id)
            assert conversation_row is not None
            await apply_status(session, message, conversation_row, MessageStatus.sent, source_id=wamid)
    return reply.json()


async def test_statuses_out_of_order_end_in_the_right_state(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    read_one = await _agent_reply(client, whatsapp, runtime, fake_graph, "wamid.OUT_1")
    statuses = [fake_graph.status("wamid.OUT_1", "read"), fake_graph.status("wamid.OUT_1", "delivered"), fake_graph.status("wamid.OUT_1", "read")]
    for status in statuses:
        answer = await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(statuses=[status]))
        assert answer.status_code == 200
    conversation_id = read_one["conversation_id"]
    [_, reply] = await messages_of(client, whatsapp, conversation_id)
    assert reply["status"] == "read" and reply["external_error"] is None


async def test_a_message_outside_the_24h_window_fails_with_the_reason_in_plain_words(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    sent = await _agent_reply(client, whatsapp, runtime, fake_graph, "wamid.OUT_2")
    failed = fake_graph.status("wamid.OUT_2", "failed", error_code=131047)
    # Meta reports 131047 asynchronously, after the send call returned 200; and it may repeat itself.
    await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(statuses=[failed, failed]))
    [_, reply] = await messages_of(client, whatsapp, sent["conversation_id"])
    assert reply["status"] == "failed"
    assert "(131047)" in reply["external_error"] and "24 hours" in reply["external_error"] and "template" in reply["external_error"]


async def test_a_receipt_for_a_message_not_yet_known_is_applied_when_its_id_is(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    reply = await _agent_reply(client, whatsapp, runtime, fake_graph, wamid=None)
    receipt = fake_graph.webhook(statuses=[fake_graph.status("wamid.OUT_3", "delivered")])
    for _ in range(2):  # Meta posts a webhook again when it missed the answer: the receipt is kept once
        assert (await fake_graph.post_webhook(client, whatsapp.callback_path, receipt)).status_code == 200
    assert (await messages_of(client, whatsapp, reply["conversation_id"]))[1]["status"] == "pending"

    async with runtime.db.session() as session:
        kept = (await session.scalars(select(EarlyReceipt.status).where(EarlyReceipt.source_id == "wamid.OUT_3"))).all()
        assert kept == [MessageStatus.delivered]
        waiting = (await session.scalars(select(Job.args).where(Job.kind == inbound.APPLY_WAITING_RECEIPTS_JOB))).all()
        assert [args["source_ids"] for args in waiting] == [["wamid.OUT_3"]]  # one look again, not one per post
        message = await session.get(Message, reply["id"])
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        await apply_status(session, message, conversation, MessageStatus.sent, source_id="wamid.OUT_3")
        await apply_early_receipts(session, [(message, conversation)])
    assert (await messages_of(client, whatsapp, reply["conversation_id"]))[1]["status"] == "delivered"


async def test_a_receipt_kept_while_its_send_was_committing_is_applied_by_its_job(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    reply = await _agent_reply(client, whatsapp, runtime, fake_graph, wamid=None)
    await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(statuses=[fake_graph.status("wamid.OUT_4", "delivered")]))
    # The send committed its wamid having looked for early receipts before this one was committed: it
    # applied none (no apply_early_receipts here), so only the kept receipt's own job can.
    await _agent_reply_sent(runtime, reply["id"], "wamid.OUT_4")
    assert (await messages_of(client, whatsapp, reply["conversation_id"]))[1]["status"] == "sent"

    worker = Worker(runtime.db, runtime.settings, queues=["deliveries"])
    await worker.start()
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while (await messages_of(client, whatsapp, reply["conversation_id"]))[1]["status"] != "delivered":
            assert asyncio.get_running_loop().time() < deadline, "the kept receipt was never applied"
            await asyncio.sleep(0.1)
    finally:
        await worker.stop(timeout=5)


async def _agent_reply_sent(runtime: Runtime, message_id: int, wamid: str) -> None:
    async with runtime.db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        await apply_status(session, message, conversation, MessageStatus.sent, source_id=wamid)


async def test_two_numbers_on_one_callback_url_are_routed_by_phone_number_id(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    fake_graph.add_number("2002", "15550002002")
    support = await create_whatsapp_inbox(client, whatsapp.member, fake_graph, name="Suporte", phone_number_id="2002")
    body = fake_graph.webhook(messages=[fake_graph.text_message("para o suporte")], phone_number_id="2002")
    # Meta's app has one callback URL: the first inbox's URL receives the other number's traffic too.
    answer = await fake_graph.post_webhook(client, whatsapp.callback_path, body)
    assert answer.status_code == 200
    assert await all_messages(client, whatsapp) == []
    assert [m["content"] for m in await all_messages(client, support)] == ["para o suporte"]

    unknown = fake_graph.webhook(messages=[fake_graph.text_message("ninguém")], phone_number_id="999")
    refused = await fake_graph.post_webhook(client, whatsapp.callback_path, unknown)
    assert refused.status_code == 404 and "999" in refused.text


async def test_bad_bodies_are_refused_with_a_clear_4xx(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    for raw in (b"{not json", b"[]", json.dumps({"object": "instagram", "entry": []}).encode(),
                json.dumps({"object": "whatsapp_business_account", "entry": {}}).encode()):
        answer = await fake_graph.post_webhook(client, whatsapp.callback_path, raw)
        assert answer.status_code == 400, (raw, answer.text)
    no_inbox = await fake_graph.post_webhook(client, "/webhooks/whatsapp/nosuchinbox", fake_graph.webhook())
    assert no_inbox.status_code == 404


async def test_an_ad_referral_is_kept_on_the_conversation_and_replies_point_at_their_message(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    referral = {"source_url": "https://fb.me/ad", "source_id": "ad-1", "source_type": "ad", "headline": "Promo",
                "body": "50% off", "media_type": "image", "image_url": "https://x/img.jpg", "ctwa_clid": "clid-1"}
    first = fake_graph.text_message("Vi o anúncio", id="wamid.FIRST", referral=referral)
    reply = fake_graph.text_message("e mais isso", context={"from": "15550783881", "id": "wamid.FIRST"})
    forwarded = fake_graph.text_message("olha isso", context={"forwarded": True})
    await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(messages=[first, reply, forwarded]))

    [conversation] = await conversations_of(client, whatsapp)
    assert conversation["additional_attributes"]["referral"]["ctwa_clid"] == "clid-1"
    stored = await messages_of(client, whatsapp, conversation["id"])
    assert stored[1]["content_attributes"]["in_reply_to"] == stored[0]["id"]
    assert stored[1]["content_attributes"]["in_reply_to_external_id"] == "wamid.FIRST"
    assert stored[2]["content_attributes"]["forwarded"] is True


async def test_customer_edits_and_deletes_a_message(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(messages=[
        fake_graph.text_message("quero 2", id="wamid.EDIT_ME"), fake_graph.text_message("ops", id="wamid.DELETE_ME"),
    ]))
    edit = fake_graph.message("edit", {"original_message_id": "wamid.EDIT_ME", "message": {"type": "text", "text": {"body": "quero 3"}}})
    revoke = fake_graph.message("revoke", {"original_message_id": "wamid.DELETE_ME"})
    answer = await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(messages=[edit, revoke]))
    assert answer.status_code == 200
    edited, deleted = await all_messages(client, whatsapp)
    assert edited["content"] == "quero 3"
    assert deleted["content_attributes"]["deleted"] is True
    async with runtime.db.session() as session:
        assert len((await session.scalars(select(Message))).all()) == 2


async def test_receipts_kept_for_several_sends_are_applied_together_and_an_unknown_one_keeps_waiting(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replies = [await _agent_reply(client, whatsapp, runtime, fake_graph, wamid=None) for _ in range(2)]
    wamids = ["wamid.OUT_5", "wamid.OUT_6", "wamid.SENT_ELSEWHERE"]
    receipts = [fake_graph.status(wamid, "delivered") for wamid in wamids]
    await fake_graph.post_webhook(client, whatsapp.callback_path, fake_graph.webhook(statuses=receipts))
    for reply, wamid in zip(replies, wamids, strict=False):
        await _agent_reply_sent(runtime, reply["id"], wamid)  # committed after the receipts were kept
    chunks = record_chunk_sizes(monkeypatch, inbound, "_apply_kept_receipts")
    worker = Worker(runtime.db, runtime.settings, queues=["deliveries"])
    await worker.start()
    try:
        deadline = asyncio.get_running_loop().time() + 10
        ids = {reply["id"] for reply in replies}
        while [m["status"] for m in await messages_of(client, whatsapp, replies[0]["conversation_id"]) if m["id"] in ids] != ["delivered"] * 2:
            assert asyncio.get_running_loop().time() < deadline, "the kept receipts were never applied"
            await asyncio.sleep(0.1)
    finally:
        await worker.stop(timeout=5)
    assert chunks[0] == 1  # one job for the batch's three kept receipts
    async with runtime.db.session(write=False) as session:
        kept = (await session.scalars(select(EarlyReceipt.source_id))).all()
        waiting = (await session.execute(
            select(Job.state, Job.args).where(Job.kind == inbound.APPLY_WAITING_RECEIPTS_JOB).order_by(Job.id)
        )).all()
    assert kept == ["wamid.SENT_ELSEWHERE"]
    # The unknown id is looked for again, alone, until the first job's deadline.
    [(first_state, first), (later_state, later)] = waiting
    assert (first_state, first["source_ids"]) == ("completed", wamids)
    assert (later_state, later["source_ids"], later["until"]) == ("scheduled", ["wamid.SENT_ELSEWHERE"], first["until"])
