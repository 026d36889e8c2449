"""A customer talks to the business's Telegram bot: updates in, replies out, failures in plain words."""

from __future__ import annotations

import re

import httpx
import pytest

from nexa.channels.base import (
    DeliveryError,
    IncomingMedia,
    ListRow,
    ListSection,
    OutboundMessage,
    OutgoingMedia,
    ReplyButton,
)
from nexa.channels.telegram.adapter import TelegramAdapter
from nexa.channels.webhooks import InboxCredentials
from nexa.conversations.models import FileType
from nexa.inboxes.models import Inbox
from nexa.runtime import Runtime
from tests.channels.telegram.conftest import TelegramInbox, conversations_of, messages_of
from tests.fixtures.fake_telegram import CHAT_ID, callback_update, message_update, text_update, user

adapter = TelegramAdapter()


async def _inbox(runtime: Runtime, telegram: TelegramInbox) -> tuple[Inbox, InboxCredentials]:
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, telegram.id)
        assert inbox is not None
    return inbox, InboxCredentials(inbox, runtime.cipher)


async def _refusal(runtime: Runtime, telegram: TelegramInbox, message: OutboundMessage) -> DeliveryError:
    inbox, credentials = await _inbox(runtime, telegram)
    with pytest.raises(DeliveryError) as refused:
        await adapter.send(inbox, credentials, message, runtime.http)
    return refused.value


async def test_set_webhook_then_a_customer_message_becomes_a_conversation(
    client: httpx.AsyncClient, telegram: TelegramInbox
) -> None:
    fake = telegram.fake
    assert fake.webhook is not None and fake.webhook["url"] == telegram.json["callback_webhook_url"]
    secret = fake.webhook["secret_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret) and len(secret) >= 32
    assert fake.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert fake.webhook["drop_pending_updates"] is False
    assert "bot_token" in telegram.json["credentials_set"] and "webhook_secret" in telegram.json["credentials_set"]

    response = await fake.deliver(client, text_update("/start", message_id=1365))
    assert response.status_code == 200
    assert (await fake.deliver(client, text_update("/start", message_id=1365))).status_code == 200
    [conversation] = await conversations_of(client, telegram)
    sender = conversation["meta"]["sender"]
    assert sender["name"] == "Ana Souza" and sender["identifier"] == "@ana"
    [message] = await messages_of(client, telegram, conversation["id"])
    assert message["content"] == "/start" and message["source_id"] == f"{CHAT_ID}:1365"


async def test_the_secret_token_is_required(client: httpx.AsyncClient, telegram: TelegramInbox) -> None:
    update = text_update("Oi", message_id=1)
    missing = await telegram.fake.deliver(client, update, headers={})
    wrong = await telegram.fake.deliver(client, update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
    assert (missing.status_code, wrong.status_code) == (401, 403)
    assert await conversations_of(client, telegram) == []


async def test_media_replies_edits_and_group_chats(client: httpx.AsyncClient, telegram: TelegramInbox) -> None:
    fake = telegram.fake
    photo = message_update({"caption": "Este", "photo": [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 1280, "file_size": 90000}]}, message_id=10)
    voice = message_update({"voice": {"file_id": "voice-1", "file_unique_id": "v", "duration": 3, "mime_type": "audio/ogg"}}, message_id=11)
    document = message_update({"document": {"file_id": "doc-1", "file_unique_id": "d", "file_name": "pedido.pdf",
                                            "mime_type": "application/pdf"}}, message_id=12)
    location = message_update({"location": {"latitude": -23.55, "longitude": -46.63}}, message_id=13)
    contact = message_update({"contact": {"phone_number": "5511999990000", "first_name": "Ana", "user_id": CHAT_ID}}, message_id=14)
    reply = message_update({"text": "Esse mesmo", "reply_to_message": {"message_id": 10, "chat": {"id": CHAT_ID, "type": "private"},
                                                                         "date": 1}}, message_id=15)
    dice = message_update({"dice": {"emoji": "🎲", "value": 4}}, message_id=16)
    group = text_update("no grupo", message_id=17, chat_id=-100123, chat_type="supergroup")
    for update in (photo, voice, document, location, contact, reply, dice, group):
        assert (await fake.deliver(client, update)).status_code == 200
    edit = message_update({"text": "Esse mesmo, azul", "edit_date": 1717000500}, message_id=15, kind="edited_message")
    assert (await fake.deliver(client, edit)).status_code == 200

    [conversation] = await conversations_of(client, telegram)
    messages = {m["source_id"]: m for m in await messages_of(client, telegram, conversation["id"])}
    image = messages[f"{CHAT_ID}:10"]
    assert image["content"] == "Este" and image["attachments"][0]["meta"]["provider_media_id"] == "large"
    assert messages[f"{CHAT_ID}:11"]["attachments"][0]["meta"] == {"provider_media_id": "voice-1", "voice": True}
    assert messages[f"{CHAT_ID}:12"]["attachments"][0]["meta"]["filename"] == "pedido.pdf"
    assert messages[f"{CHAT_ID}:13"]["attachments"][0]["coordinates_long"] == -46.63
    assert messages[f"{CHAT_ID}:14"]["attachments"][0]["meta"]["phone_number"] == "5511999990000"
    edited = messages[f"{CHAT_ID}:15"]
    assert edited["content"] == "Esse mesmo, azul" and edited["content_attributes"]["previous_content"] == "Esse mesmo"
    assert edited["content_attributes"]["in_reply_to"] == image["id"]
    assert messages[f"{CHAT_ID}:16"]["content_attributes"] == {"unsupported": True, "provider_type": "dice"}
    assert len(messages) == 7  # the supergroup's message is not a conversation


async def test_a_button_tap_is_a_button_reply_answered_in_the_webhook_response(
    client: httpx.AsyncClient, runtime: Runtime, telegram: TelegramInbox
) -> None:
    fake = telegram.fake
    await fake.deliver(client, text_update("Oi", message_id=1))
    inbox, credentials = await _inbox(runtime, telegram)
    sent = await adapter.send(inbox, credentials, OutboundMessage(
        to=str(CHAT_ID), text="Como posso ajudar?", buttons=(ReplyButton("talk_to_agent", "Falar com atendente"),),
    ), runtime.http)
    message_id = int(sent.source_id.split(":")[1])

    tap = callback_update("talk_to_agent", on_message_id=message_id, buttons=[("talk_to_agent", "Falar com atendente")])
    response = await fake.deliver(client, tap)
    assert response.status_code == 200
    assert response.json() == {"method": "answerCallbackQuery", "callback_query_id": tap["callback_query"]["id"]}
    [conversation] = await conversations_of(client, telegram)
    button = (await messages_of(client, telegram, conversation["id"]))[-1]
    assert button["content"] == "talk_to_agent" and button["message_type"] == 0
    assert button["content_attributes"]["button_reply"] == {"id": "talk_to_agent", "title": "Falar com atendente"}


async def test_sends_escape_html_quote_replies_and_carry_keyboards(runtime: Runtime, telegram: TelegramInbox) -> None:
    fake = telegram.fake
    inbox, credentials = await _inbox(runtime, telegram)
    sent = await adapter.send(inbox, credentials, OutboundMessage(
        to=str(CHAT_ID), text="Preço <b>R$ 10</b> & frete", reply_to_source_id=f"{CHAT_ID}:1365",
        sections=(ListSection("Opções", (ListRow("pix", "Pix"), ListRow("card", "Cartão"))),),
    ), runtime.http)
    body = fake.requests[-1].body
    assert fake.requests[-1].method == "sendMessage" and sent.source_id == f"{CHAT_ID}:{fake.sent[-1]['message_id']}"
    assert body["text"] == "Preço &lt;b&gt;R$ 10&lt;/b&gt; &amp; frete" and body["parse_mode"] == "HTML"
    assert body["reply_parameters"] == {"message_id": 1365, "allow_sending_without_reply": True}
    assert body["reply_markup"] == {"inline_keyboard": [[{"text": "Pix", "callback_data": "pix"}],
                                                        [{"text": "Cartão", "callback_data": "card"}]]}

    photo = OutgoingMedia(FileType.image, "https://cdn.example.com/p.jpg")
    pdf = OutgoingMedia(FileType.file, "https://cdn.example.com/n.pdf", filename="nota.pdf")
    several = await adapter.send(inbox, credentials, OutboundMessage(to=str(CHAT_ID), text="Segue", media=(photo, pdf)), runtime.http)
    assert [(c.method, c.body.get("caption")) for c in fake.requests[-2:]] == [("sendPhoto", "Segue"), ("sendDocument", None)]
    assert len(several.extra["source_ids"]) == 2

    await adapter.mark_read(inbox, credentials, f"{CHAT_ID}:1365", runtime.http, typing=True)
    assert fake.requests[-1].method == "sendChatAction" and fake.requests[-1].body == {"chat_id": str(CHAT_ID), "action": "typing"}
    calls = len(fake.requests)
    await adapter.mark_read(inbox, credentials, f"{CHAT_ID}:1365", runtime.http)
    assert len(fake.requests) == calls


async def test_each_failure_is_retryable_or_not_with_a_plain_reason(runtime: Runtime, telegram: TelegramInbox) -> None:
    fake, hello = telegram.fake, OutboundMessage(to=str(CHAT_ID), text="Olá")
    fake.fail_next(429, "Too Many Requests: retry after 5", retry_after=5)
    throttled = await _refusal(runtime, telegram, hello)
    assert throttled.retryable and throttled.retry_after == 5.0 and "retry after 5" in throttled.reason
    fake.fail_next(403, "Forbidden: bot was blocked by the user")
    blocked = await _refusal(runtime, telegram, hello)
    assert not blocked.retryable and blocked.reason == "The customer blocked the bot"
    fake.fail_next(400, "Bad Request: chat not found")
    no_chat = await _refusal(runtime, telegram, hello)
    assert not no_chat.retryable and no_chat.reason == "Telegram: Bad Request: chat not found"
    fake.fail_next(502, "Bad Gateway")
    assert (await _refusal(runtime, telegram, hello)).retryable
    too_long = await _refusal(runtime, telegram, OutboundMessage(to=str(CHAT_ID), text="?", buttons=(ReplyButton("x" * 65, "X"),)))
    assert not too_long.retryable and "64 bytes" in too_long.reason

    fake.token = "rotated"
    bad_token = await _refusal(runtime, telegram, hello)
    assert not bad_token.retryable and "bot token" in bad_token.reason and "TEST-token" not in bad_token.reason


async def test_media_is_fetched_with_get_file(runtime: Runtime, telegram: TelegramInbox) -> None:
    fake = telegram.fake
    fake.files["voice-1"] = b"OggS-voice"
    inbox, credentials = await _inbox(runtime, telegram)
    media = IncomingMedia(FileType.audio, provider_media_id="voice-1", mime_type="audio/ogg")
    fetched = await adapter.fetch_media(inbox, credentials, media, runtime.http)
    assert (fetched.data, fetched.mime_type) == (b"OggS-voice", "audio/ogg")
    assert fake.requests[-1].method == "getFile"
    with pytest.raises(DeliveryError) as missing:
        await adapter.fetch_media(inbox, credentials, IncomingMedia(FileType.image, provider_media_id="gone"), runtime.http)
    assert not missing.value.retryable and "invalid file_id" in missing.value.reason


async def test_setup_webhook_failure_and_creation_rules(client: httpx.AsyncClient, telegram: TelegramInbox) -> None:
    telegram.fake.fail_next(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
    refused = await client.post(f"{telegram.account_url}/inboxes/{telegram.id}/setup_webhook", headers=telegram.member.headers)
    assert refused.status_code == 422 and "HTTPS url must be provided" in refused.json()["error"]

    no_token = await client.post(f"{telegram.account_url}/inboxes", json={"name": "Bot", "channel": {"type": "telegram"}},
                                 headers=telegram.member.headers)
    assert no_token.status_code == 422 and no_token.json()["attributes"] == ["bot_token"]
    api_inbox = (await client.post(f"{telegram.account_url}/inboxes", json={"name": "API", "channel": {"type": "api"}},
                                   headers=telegram.member.headers)).json()
    not_here = await client.post(f"{telegram.account_url}/inboxes/{api_inbox['id']}/setup_webhook", headers=telegram.member.headers)
    assert not_here.status_code == 422


async def test_malformed_updates_are_400(client: httpx.AsyncClient, telegram: TelegramInbox) -> None:
    assert telegram.fake.webhook is not None
    url, headers = telegram.fake.webhook["url"], {"X-Telegram-Bot-Api-Secret-Token": telegram.fake.webhook["secret_token"]}
    not_json = await client.post(url, content=b"nope", headers=headers)
    no_update_id = await client.post(url, json={"message": {}}, headers=headers)
    no_chat = await client.post(url, json={"update_id": 1, "message": {"message_id": 1, "from": user(), "date": 1}}, headers=headers)
    assert [r.status_code for r in (not_json, no_update_id, no_chat)] == [400, 400, 400]
    other = await client.post(url, json={"update_id": 2, "my_chat_member": {}}, headers=headers)
    assert other.status_code == 200 and other.json()["queued"] == 0
