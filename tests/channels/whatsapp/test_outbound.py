"""Nexa talking to Meta: sends, media downloads and read receipts against the fake Graph API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from nexa.channels.base import (
    DeliveryError,
    IncomingMedia,
    ListRow,
    ListSection,
    OutboundMessage,
    OutgoingMedia,
    ReplyButton,
    Template,
)
from nexa.channels.models import EarlyReceipt
from nexa.channels.registry import adapter_for
from nexa.channels.webhooks import InboxCredentials
from nexa.channels.whatsapp_cloud.adapter import WhatsAppCloudAdapter
from nexa.conversations.models import FileType
from nexa.inboxes.models import ChannelType, Inbox
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox
from nexa.devtools.fake_graph import FakeGraph

CUSTOMER = "5511999990000"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


@pytest.fixture
async def channel(runtime: Runtime, whatsapp: WhatsAppInbox) -> tuple[WhatsAppCloudAdapter, Inbox, InboxCredentials]:
    adapter = adapter_for(ChannelType.whatsapp_cloud)
    assert isinstance(adapter, WhatsAppCloudAdapter)
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, whatsapp.id)
    assert inbox is not None
    return adapter, inbox, InboxCredentials(inbox, runtime.cipher)


Channel = tuple[WhatsAppCloudAdapter, Inbox, InboxCredentials]


async def test_texts_media_replies_buttons_lists_and_templates_reach_meta_in_its_format(
    channel: Channel, fake_graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    adapter, inbox, credentials = channel
    text = await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Veja https://acme.com", reply_to_source_id="wamid.IN_1"), http)
    assert text.source_id == fake_graph.sent[0].id and text.extra["wa_id"] == CUSTOMER
    assert fake_graph.sent[0].body["text"] == {"body": "Veja https://acme.com", "preview_url": True}
    assert fake_graph.sent[0].body["context"] == {"message_id": "wamid.IN_1"}
    assert fake_graph.requests[0].headers["authorization"] == f"Bearer {fake_graph.access_token}"

    await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Nota", media=(OutgoingMedia(FileType.file, "https://acme.com/n.pdf", filename="n.pdf"),)), http)
    assert fake_graph.sent[1].body["document"] == {"link": "https://acme.com/n.pdf", "caption": "Nota", "filename": "n.pdf"}

    buttons = (ReplyButton("agent", "Falar com atendente"), ReplyButton("faq", "Dúvidas"))
    await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Como ajudar?", buttons=buttons), http)
    action = fake_graph.sent[2].body["interactive"]["action"]
    assert [b["reply"]["id"] for b in action["buttons"]] == ["agent", "faq"]

    sections = (ListSection("Suporte", (ListRow("billing", "Cobrança", "Boletos"), ListRow("tech", "Técnico"))),)
    await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Escolha", list_button="Opções", sections=sections), http)
    assert fake_graph.sent[3].body["interactive"]["action"]["sections"][0]["rows"][0]["description"] == "Boletos"

    template = Template("order_update", "pt_BR", ({"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},))
    sent = await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, template=template, idempotency_key="job-7"), http)
    assert sent.extra["message_status"] == "accepted"
    assert fake_graph.sent[4].body["template"]["language"] == {"code": "pt_BR"}
    assert fake_graph.sent[4].body["biz_opaque_callback_data"] == "job-7"


@pytest.mark.parametrize(
    ("message", "limit"),
    [
        (OutboundMessage(to=CUSTOMER, text="?", buttons=tuple(ReplyButton(str(i), f"B{i}") for i in range(4))), "1 to 3"),
        (OutboundMessage(to=CUSTOMER, text="?", buttons=(ReplyButton("a", "x" * 21),)), "20 characters"),
        (OutboundMessage(to=CUSTOMER, text="?", buttons=(ReplyButton("a", "Sim"), ReplyButton("a", "Não"))), "unique"),
        (OutboundMessage(to=CUSTOMER, text="?", list_button="Ver",
                         sections=(ListSection(None, tuple(ListRow(str(i), f"R{i}") for i in range(11))),)), "10 rows"),
        (OutboundMessage(to=CUSTOMER, text="?", list_button="Ver", sections=(ListSection(None, (ListRow("a", "y" * 25),)),)), "24 characters"),
        (OutboundMessage(to=CUSTOMER, text="x" * 4097), "4096"),
        (OutboundMessage(to=CUSTOMER), "non-empty"),
    ],
)
async def test_messages_over_whatsapp_limits_fail_before_reaching_meta(
    channel: Channel, fake_graph: FakeGraph, http: httpx.AsyncClient, message: OutboundMessage, limit: str
) -> None:
    adapter, inbox, credentials = channel
    with pytest.raises(DeliveryError) as refused:
        await adapter.send(inbox, credentials, message, http)
    assert not refused.value.retryable and limit in refused.value.reason
    assert fake_graph.requests == []


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        ({"status": 500}, True, "will be retried"),
        ({"status": 503}, True, "will be retried"),
        ({"code": 130429}, True, "throttling"),
        ({"code": 131056}, True, "short time"),
        ({"code": 131057}, True, "upgrading"),
        ({"code": 4}, True, "too many API calls"),
        ({"code": 131047}, False, "24 hours"),
        ({"code": 131026}, False, "could not be delivered"),
        ({"code": 132001}, False, "template"),
        ({"code": 190}, False, "access token"),
        ({"code": 100}, False, "parameter"),
        ({"code": 368}, False, "blocked"),
    ],
)
async def test_graph_errors_become_retryable_or_permanent_with_a_plain_reason(
    channel: Channel, fake_graph: FakeGraph, http: httpx.AsyncClient, fault: dict, retryable: bool, words: str
) -> None:
    adapter, inbox, credentials = channel
    fake_graph.fail_next(**fault)
    with pytest.raises(DeliveryError) as failed:
        await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Oi"), http)
    assert failed.value.retryable is retryable and words in failed.value.reason
    if "code" in fault:
        assert failed.value.code == str(fault["code"])
    # The next attempt goes through: one fault, one refusal.
    assert (await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Oi"), http)).source_id == fake_graph.sent[-1].id


async def test_an_unreachable_or_slow_api_is_a_retryable_failure(
    channel: Channel, fake_graph: FakeGraph, runtime: Runtime
) -> None:
    adapter, inbox, credentials = channel
    fake_graph.latency = 0.5
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        with pytest.raises(DeliveryError) as slow:
            await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Oi"), impatient)
    assert slow.value.retryable and slow.value.code == "network"

    inbox.channel_config = {**inbox.channel_config, "api_base_url": "http://127.0.0.1:9/v25.0"}
    async with httpx.AsyncClient(timeout=1.0) as http:
        with pytest.raises(DeliveryError) as down:
            await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Oi"), http)
    assert down.value.retryable


async def test_inbound_media_is_downloaded_with_a_fresh_url_and_the_token(
    channel: Channel, fake_graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    adapter, inbox, credentials = channel
    media_id = fake_graph.add_media(b"\xff\xd8jpeg-bytes", "image/jpeg")
    content = await adapter.fetch_media(inbox, credentials, IncomingMedia(FileType.image, provider_media_id=media_id), http)
    assert content.data == b"\xff\xd8jpeg-bytes" and content.mime_type == "image/jpeg"
    again = await adapter.fetch_media(inbox, credentials, IncomingMedia(FileType.image, provider_media_id=media_id), http)
    assert again.data == content.data
    paths = [r.path for r in fake_graph.requests]
    assert paths == [f"/v25.0/{media_id}", f"/download/{media_id}"] * 2
    assert all(r.headers["authorization"] == f"Bearer {fake_graph.access_token}" for r in fake_graph.requests)

    with pytest.raises(DeliveryError) as gone:
        await adapter.fetch_media(inbox, credentials, IncomingMedia(FileType.image, provider_media_id="404404"), http)
    assert not gone.value.retryable


async def test_mark_read_with_and_without_typing(channel: Channel, fake_graph: FakeGraph, http: httpx.AsyncClient) -> None:
    adapter, inbox, credentials = channel
    await adapter.mark_read(inbox, credentials, "wamid.IN_1", http)
    await adapter.mark_read(inbox, credentials, "wamid.IN_2", http, typing=True)
    assert [(m.message_id, m.typing) for m in fake_graph.read_marks] == [("wamid.IN_1", False), ("wamid.IN_2", True)]
    assert fake_graph.sent == []


async def test_capabilities_and_the_rate_setting(channel: Channel) -> None:
    adapter, inbox, _ = channel
    assert adapter.capabilities.service_window is not None and adapter.capabilities.service_window.total_seconds() == 86400
    assert adapter.capabilities.max_buttons == 3 and adapter.capabilities.lists and adapter.capabilities.templates
    assert adapter.rate_per_second(inbox) == 80.0
    inbox.channel_config = {**inbox.channel_config, "rate_per_second": 20}
    assert adapter.rate_per_second(inbox) == 20.0



async def test_the_fake_plays_receipts_back_like_a_real_number(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, channel: Channel, fake_graph: FakeGraph,
    http: httpx.AsyncClient, runtime: Runtime,
) -> None:
    adapter, inbox, credentials = channel
    fake_graph.send_receipts_to(client, whatsapp.callback_path, ("sent", "delivered", "read"))
    sent = await adapter.send(inbox, credentials, OutboundMessage(to=CUSTOMER, text="Oi"), http)
    await fake_graph.settle()
    # No delivery job stored this wamid on a message here, so the signed receipts wait as early receipts.
    async with runtime.db.session() as session:
        kept = (await session.scalars(select(EarlyReceipt).where(EarlyReceipt.source_id == sent.source_id))).all()
    assert sorted(receipt.status for receipt in kept) == ["delivered", "read", "sent"]
