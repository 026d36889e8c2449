"""Telegram bots (docs/channels/telegram.md).

Inbox settings: credentials `bot_token` and `webhook_secret` (generated with the inbox, given to Telegram
by setWebhook); channel_config `api_base_url` only to point at a fake Bot API.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import httpx

from nexa.channels.base import (
    Capabilities,
    Credentials,
    DeliveryError,
    IncomingMedia,
    InboundEvent,
    InboundMessage,
    MediaContent,
    OutboundMessage,
    OutgoingMedia,
    SentMessage,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from nexa.channels.registry import register
from nexa.channels.telegram.parse import message_id_in, parse_update, source_id_of
from nexa.conversations.models import FileType
from nexa.inboxes.models import ChannelType, Inbox
from nexa.kit.crypto import constant_time_equals
from nexa.kit.lazy_text import _

DEFAULT_API_BASE_URL = "https://api.telegram.org"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
MAX_CALLBACK_DATA_BYTES = 64
MAX_CAPTION_LENGTH = 1024
# sendX method and its file field, per attachment type; files go by URL (Telegram fetches them).
_SEND_FILE = {
    FileType.image: ("sendPhoto", "photo"),
    FileType.video: ("sendVideo", "video"),
    FileType.audio: ("sendAudio", "audio"),
    FileType.file: ("sendDocument", "document"),
    FileType.sticker: ("sendSticker", "sticker"),
}


class TelegramAdapter:
    channel_type = ChannelType.telegram
    capabilities = Capabilities(
        max_text_length=4096,
        max_buttons=100,  # Telegram's inline keyboard limit
        lists=True,  # list rows become inline buttons too
        media=frozenset(_SEND_FILE),
        typing=True,
        rate_per_second=30,  # Bot API, all chats together; about 1/s per chat
    )

    def handshake(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> WebhookReply:
        """Telegram never verifies with a GET; answering lets an admin check the URL from a browser."""
        return WebhookReply(200, "Telegram webhook endpoint")

    def authenticate(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> None:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            raise WebhookRejected(401, _("Missing the X-Telegram-Bot-Api-Secret-Token header"))
        expected = credentials.get("webhook_secret")
        if not expected or not constant_time_equals(given, expected):
            raise WebhookRejected(403, _("The secret token does not match this inbox"))

    def parse(self, body: bytes) -> list[InboundEvent]:
        return parse_update(body)

    def route_key(self, inbox: Inbox) -> str | None:
        return None  # one bot per inbox: the URL says which

    def webhook_reply(self, events: list[InboundEvent]) -> Mapping[str, Any] | None:
        """Answer a button tap in the webhook's own response: the customer's spinner stops at once,
        with no extra call and no job (Telegram runs a method given in the reply body)."""
        for event in events:
            if isinstance(event, InboundMessage) and (query_id := event.content_attributes.get("callback_query_id")):
                return {"method": "answerCallbackQuery", "callback_query_id": query_id}
        return None

    async def send(
        self, inbox: Inbox, credentials: Credentials, message: OutboundMessage, http: httpx.AsyncClient
    ) -> SentMessage:
        if message.template is not None:
            raise DeliveryError("Telegram has no message templates; send text instead", retryable=False)
        api = _BotApi(inbox, credentials, http)
        common: dict[str, Any] = {"chat_id": message.to}
        if reply := _reply_parameters(message.reply_to_source_id):
            common["reply_parameters"] = reply
        keyboard = _keyboard(message)
        text = html.escape(message.text) if message.text else None
        media = list(message.media)
        calls: list[tuple[str, dict[str, Any]]] = []
        if text and (not media or len(text) > MAX_CAPTION_LENGTH or media[0].file_type == FileType.sticker):
            calls.append(("sendMessage", {"text": text, "parse_mode": "HTML"}))
            text = None
        for item in media:
            calls.append(_file_call(item, text))
            text = None
        if not calls:
            raise DeliveryError("Nothing to send: the message has no text and no attachment", retryable=False)
        if keyboard:
            calls[-1][1]["reply_markup"] = keyboard
        sent = []
        for index, (method, body) in enumerate(calls):
            # Only the first part quotes the message replied to.
            result = await api.call(method, {**common, **body} if index == 0 else {"chat_id": message.to, **body})
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if not isinstance(message_id, int):
                # Accepted but unidentifiable: retrying could send it twice, so it is not retried.
                raise DeliveryError("Telegram accepted the message but returned no message id", retryable=False)
            sent.append(source_id_of(message.to, message_id))
        return SentMessage(source_id=sent[0], extra={"source_ids": sent} if len(sent) > 1 else {})

    async def fetch_media(
        self, inbox: Inbox, credentials: Credentials, media: IncomingMedia, http: httpx.AsyncClient
    ) -> MediaContent:
        if not media.provider_media_id:
            raise DeliveryError("The attachment has no Telegram file id", retryable=False)
        api = _BotApi(inbox, credentials, http)
        file = await api.call("getFile", {"file_id": media.provider_media_id})
        path = file.get("file_path") if isinstance(file, dict) else None
        if not isinstance(path, str):
            # Files over 20 MB have no download path for bots.
            raise DeliveryError("Telegram gives bots no download for this file (over 20 MB)", retryable=False)
        return MediaContent(data=await api.download(path), mime_type=media.mime_type, filename=media.filename)

    async def mark_read(
        self, inbox: Inbox, credentials: Credentials, source_id: str, http: httpx.AsyncClient, *, typing: bool = False
    ) -> None:
        """Telegram has no read receipts for bots; "typing..." is shown when asked."""
        located = message_id_in(source_id)
        if typing and located is not None:
            await _BotApi(inbox, credentials, http).call("sendChatAction", {"chat_id": located[0], "action": "typing"})

    async def configure(
        self, inbox: Inbox, credentials: Credentials, callback_url: str, http: httpx.AsyncClient
    ) -> None:
        secret = credentials.get("webhook_secret")
        if not secret:
            raise DeliveryError("The inbox has no webhook_secret credential; set one and try again", retryable=False)
        await _BotApi(inbox, credentials, http).call(
            "setWebhook",
            {"url": callback_url, "secret_token": secret, "allowed_updates": list(ALLOWED_UPDATES),
             "drop_pending_updates": False},
        )


def _reply_parameters(source_id: str | None) -> dict[str, Any] | None:
    located = message_id_in(source_id) if source_id else None
    # A vanished original must not fail the reply.
    return {"message_id": located[1], "allow_sending_without_reply": True} if located else None


def _keyboard(message: OutboundMessage) -> dict[str, Any] | None:
    """Reply buttons and list rows as an inline keyboard, one button per row."""
    choices = [(button.id, button.title) for button in message.buttons]
    choices += [(row.id, row.title) for section in message.sections for row in section.rows]
    if not choices:
        return None
    for data, _title in choices:
        if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise DeliveryError(
                f"Button id {data!r} is longer than Telegram's {MAX_CALLBACK_DATA_BYTES} bytes", retryable=False
            )
    return {"inline_keyboard": [[{"text": title, "callback_data": data}] for data, title in choices]}


def _file_call(media: OutgoingMedia, caption: str | None) -> tuple[str, dict[str, Any]]:
    method, field = _SEND_FILE.get(media.file_type, ("sendDocument", "document"))
    body: dict[str, Any] = {field: media.url}
    if caption:
        body.update(caption=caption, parse_mode="HTML")
    return method, body


class _BotApi:
    """Bot API calls with Telegram's failures turned into DeliveryError in plain words."""

    def __init__(self, inbox: Inbox, credentials: Credentials, http: httpx.AsyncClient) -> None:
        token = credentials.get("bot_token")
        if not token:
            raise DeliveryError("The inbox has no bot_token", retryable=False)
        self.base_url = (inbox.channel_config.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        self.token = token
        self.http = http

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        response = await self._request("POST", f"{self.base_url}/bot{self.token}/{method}", json=body)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        raise _error(response.status_code, answer if isinstance(answer, dict) else {})

    async def download(self, file_path: str) -> bytes:
        response = await self._request("GET", f"{self.base_url}/file/bot{self.token}/{file_path}")
        if not response.is_success:
            raise DeliveryError.from_http_status(response.status_code, f"Telegram file download answered HTTP {response.status_code}")
        return response.content

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            # The URL holds the bot token: name the failure, never the address.
            raise DeliveryError(f"Telegram did not answer ({type(exc).__name__})", retryable=True) from None


def _error(status_code: int, answer: dict[str, Any]) -> DeliveryError:
    code = answer.get("error_code") if isinstance(answer.get("error_code"), int) else status_code
    description = str(answer.get("description") or f"HTTP {status_code}")
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    retry_after = parameters.get("retry_after")
    lowered = description.lower()
    if "blocked by the user" in lowered:
        reason = "The customer blocked the bot"
    elif "user is deactivated" in lowered:
        reason = "The customer's Telegram account was deleted"
    elif code in (401, 404) and "chat not found" not in lowered:
        reason = "Telegram refused the bot token: check it in the inbox settings"
    elif code == 429:
        reason = f"Telegram is rate limiting the bot (retry after {retry_after} s)"
    else:
        reason = f"Telegram: {description}"
    return DeliveryError.from_http_status(
        code, reason, retry_after=float(retry_after) if isinstance(retry_after, int | float) else None
    )


register(TelegramAdapter())
