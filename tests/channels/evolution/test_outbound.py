"""Nexa sends through Evolution, fetches media from it, and sets the instance's webhook; failures are plain."""

from __future__ import annotations

import httpx
import pytest

from nexa.channels.base import DeliveryError, IncomingMedia, OutboundMessage, OutgoingMedia, ReplyButton, Template
from nexa.channels.evolution.adapter import EvolutionAdapter
from nexa.channels.webhooks import InboxCredentials
from nexa.conversations.models import FileType
from nexa.inboxes.models import Inbox
from nexa.runtime import Runtime
from tests.channels.evolution.conftest import EvolutionInbox, create_evolution_inbox
from tests.factories import make_member
from tests.fixtures.fake_evolution import CUSTOMER_NUMBER, FakeEvolution
from nexa.devtools.servers import RunningServer

adapter = EvolutionAdapter()


async def _send(runtime: Runtime, evolution: EvolutionInbox, message: OutboundMessage) -> str:
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, evolution.id)
        assert inbox is not None
    return (await adapter.send(inbox, InboxCredentials(inbox, runtime.cipher), message, runtime.http)).source_id


async def _refusal(runtime: Runtime, evolution: EvolutionInbox, message: OutboundMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as refused:
        await _send(runtime, evolution, message)
    return refused.value


async def test_text_quoted_replies_media_and_buttons_are_sent_in_evolutions_shape(
    runtime: Runtime, evolution: EvolutionInbox
) -> None:
    fake = evolution.fake
    key_id = await _send(runtime, evolution, OutboundMessage(to=CUSTOMER_NUMBER, text="Olá!", reply_to_source_id="3EB0QUOTED"))
    request = fake.requests[-1]
    assert request.path == f"/message/sendText/{fake.instance}" and request.headers["apikey"] == "evo-key"
    assert request.json == {"number": CUSTOMER_NUMBER, "text": "Olá!", "quoted": {"key": {"id": "3EB0QUOTED"}}}
    assert key_id == fake.sent[-1]["key_id"]

    photo = OutgoingMedia(FileType.image, "https://cdn.example.com/p.jpg", mime_type="image/jpeg")
    voice = OutgoingMedia(FileType.audio, "https://cdn.example.com/v.ogg")
    await _send(runtime, evolution, OutboundMessage(to=CUSTOMER_NUMBER, text="Veja", media=(photo,)))
    assert fake.requests[-1].json == {"number": CUSTOMER_NUMBER, "mediatype": "image", "media": photo.url,
                                      "mimetype": "image/jpeg", "caption": "Veja"}
    await _send(runtime, evolution, OutboundMessage(to=CUSTOMER_NUMBER, text="Ouça", media=(voice,)))
    # An audio has no caption: the text goes first, on its own.
    assert [r.path.split("/")[2] for r in fake.requests[-2:]] == ["sendText", "sendMedia"]

    await _send(runtime, evolution, OutboundMessage(
        to=CUSTOMER_NUMBER, text="Como posso ajudar?", buttons=(ReplyButton("sales", "Comprar"), ReplyButton("agent", "Atendente"))
    ))
    assert fake.requests[-1].json["text"] == "Como posso ajudar?\n\n1. Comprar\n2. Atendente"


async def test_each_failure_is_retryable_or_not_with_a_plain_reason(
    runtime: Runtime, evolution: EvolutionInbox
) -> None:
    fake, hello = evolution.fake, OutboundMessage(to=CUSTOMER_NUMBER, text="Olá")
    fake.fail_next(400, [{"exists": False, "jid": f"{CUSTOMER_NUMBER}@s.whatsapp.net", "number": CUSTOMER_NUMBER}])
    not_on_whatsapp = await _refusal(runtime, evolution, hello)
    assert not not_on_whatsapp.retryable and not_on_whatsapp.reason == f"Evolution: {CUSTOMER_NUMBER} is not on WhatsApp"
    fake.fail_next(429, "rate-overlimit")
    throttled = await _refusal(runtime, evolution, hello)
    fake.fail_next(500)
    down = await _refusal(runtime, evolution, hello)
    assert throttled.retryable and down.retryable and down.code == "500"
    no_template = await _refusal(runtime, evolution, OutboundMessage(to=CUSTOMER_NUMBER, template=Template("order_update", "pt_BR")))
    assert not no_template.retryable and "template" in no_template.reason

    fake.apikey = "rotated"
    bad_key = await _refusal(runtime, evolution, hello)
    assert not bad_key.retryable and "apikey" in bad_key.reason
    fake.apikey, fake.instance = "evo-key", "renamed"
    missing = await _refusal(runtime, evolution, hello)
    assert not missing.retryable and "acme-01" in missing.reason


async def test_an_unreachable_evolution_is_retried(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    inbox_json = (await create_evolution_inbox(client, member, "http://127.0.0.1:9")).json()
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, inbox_json["id"])
        assert inbox is not None
    with pytest.raises(DeliveryError) as refused:
        await adapter.send(inbox, InboxCredentials(inbox, runtime.cipher), OutboundMessage(to="1", text="x"), runtime.http)
    assert refused.value.retryable and "did not answer" in refused.value.reason


async def test_media_comes_inline_or_from_get_base64(runtime: Runtime, evolution: EvolutionInbox) -> None:
    fake = evolution.fake
    fake.media["3EB0PHOTO"] = (b"\xff\xd8jpeg-bytes", "image/jpeg", "foto.jpg")
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, evolution.id)
        assert inbox is not None
    credentials = InboxCredentials(inbox, runtime.cipher)
    fetched = await adapter.fetch_media(inbox, credentials, IncomingMedia(FileType.image, provider_media_id="3EB0PHOTO"), runtime.http)
    assert (fetched.data, fetched.mime_type, fetched.filename) == (b"\xff\xd8jpeg-bytes", "image/jpeg", "foto.jpg")
    assert fake.requests[-1].json == {"message": {"key": {"id": "3EB0PHOTO"}}, "convertToMp4": False}

    calls = len(fake.requests)
    inline = IncomingMedia(FileType.audio, provider_media_id="3EB0VOICE", mime_type="audio/ogg", meta={"base64": "T2dnUw=="})
    assert (await adapter.fetch_media(inbox, credentials, inline, runtime.http)).data == b"OggS"
    assert len(fake.requests) == calls

    with pytest.raises(DeliveryError) as unknown:
        await adapter.fetch_media(inbox, credentials, IncomingMedia(FileType.image, provider_media_id="3EB0GONE"), runtime.http)
    assert not unknown.value.retryable and "Message not found" in unknown.value.reason


async def test_setup_webhook_reports_the_providers_refusal(client: httpx.AsyncClient, evolution: EvolutionInbox) -> None:
    evolution.fake.fail_next(400, ["webhook.url must be a valid URL"])
    url = f"{evolution.account_url}/inboxes/{evolution.id}/setup_webhook"
    refused = await client.post(url, headers=evolution.member.headers)
    assert refused.status_code == 422
    assert refused.json()["error"] == "The provider refused the webhook: Evolution: webhook.url must be a valid URL"


async def test_an_evolution_inbox_needs_its_settings_and_its_own_instance(
    client: httpx.AsyncClient, runtime: Runtime, evolution_server: tuple[FakeEvolution, RunningServer]
) -> None:
    member = await make_member(runtime)
    incomplete = await client.post(
        f"/api/v1/accounts/{member.account.id}/inboxes",
        json={"name": "Vendas", "channel": {"type": "evolution", "base_url": "http://evo.test"}}, headers=member.headers,
    )
    assert incomplete.status_code == 422 and incomplete.json()["attributes"] == ["instance", "apikey"]
    first = await create_evolution_inbox(client, member, evolution_server[1].url)
    twice = await create_evolution_inbox(client, member, evolution_server[1].url)
    assert first.status_code == 200 and twice.status_code == 422 and twice.json()["attributes"] == ["instance"]
    as_whatsapp_provider = await client.post(
        f"/api/v1/accounts/{member.account.id}/inboxes",
        json={"name": "Suporte", "channel": {"type": "whatsapp", "provider": "evolution", "provider_config": {
            "base_url": evolution_server[1].url, "instance": "support-02", "apikey": "evo-key"}}},
        headers=member.headers,
    )
    assert as_whatsapp_provider.status_code == 200 and as_whatsapp_provider.json()["provider"] == "evolution"
    assert as_whatsapp_provider.json()["callback_webhook_url"].endswith(
        f"/webhooks/evolution/{as_whatsapp_provider.json()['inbox_identifier']}"
    )
