"""Evolution API v2: WhatsApp numbers linked by QR code (docs/channels/evolution.md).

Inbox settings: channel_config `base_url` and `instance`; credentials `apikey` (the instance token or the
global key), `webhook_secret` (generated with the inbox) and optionally `jwt_key`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from nexa.channels.base import (
    Capabilities,
    Credentials,
    DeliveryError,
    IncomingMedia,
    InboundEvent,
    MediaContent,
    OutboundMessage,
    OutgoingMedia,
    SentMessage,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from nexa.channels.evolution.parse import parse_webhook
from nexa.channels.registry import register
from nexa.conversations.models import FileType
from nexa.inboxes.models import ChannelType, Inbox
from nexa.kit.crypto import constant_time_equals
from nexa.kit.lazy_text import _

# Evolution has no signature: Nexa gives it this header (with the inbox's secret) to send back.
SECRET_HEADER = "x-nexa-webhook-secret"
WEBHOOK_EVENTS = (
    "MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_DELETE", "MESSAGES_EDITED", "SEND_MESSAGE",
    "CONNECTION_UPDATE", "QRCODE_UPDATED",
)
_MEDIA_TYPES = {FileType.image: "image", FileType.video: "video", FileType.audio: "audio", FileType.file: "document"}
_CAPTIONED = {FileType.image, FileType.video, FileType.file}


class EvolutionAdapter:
    channel_type = ChannelType.evolution
    capabilities = Capabilities(
        max_text_length=65536,
        media=frozenset({FileType.image, FileType.audio, FileType.video, FileType.file, FileType.sticker}),
        # A WhatsApp Web session, not the Cloud API: going much faster gets numbers banned.
        rate_per_second=20,
    )

    def handshake(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> WebhookReply:
        """Evolution never verifies with a GET; answering lets an admin check the URL from a browser."""
        return WebhookReply(200, "Evolution webhook endpoint")

    def authenticate(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> None:
        secret = request.headers.get(SECRET_HEADER)
        authorization = request.headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        if secret is None and token is None:
            raise WebhookRejected(
                401,
                _(
                    "Missing the %(header)s header (or a Bearer JWT signed with jwt_key)",
                    header=SECRET_HEADER,
                ),
            )
        expected = credentials.get("webhook_secret")
        if secret is not None and expected and constant_time_equals(secret, expected):
            return
        jwt_key = credentials.get("jwt_key")
        if token is not None and jwt_key and _valid_jwt(token, jwt_key):
            return
        raise WebhookRejected(403, _("The webhook secret or JWT does not match this inbox"))

    def parse(self, body: bytes) -> list[InboundEvent]:
        return parse_webhook(body)

    def route_key(self, inbox: Inbox) -> str | None:
        return inbox.channel_config.get("instance")

    async def send(
        self, inbox: Inbox, credentials: Credentials, message: OutboundMessage, http: httpx.AsyncClient
    ) -> SentMessage:
        if message.template is not None:
            raise DeliveryError("Evolution numbers cannot send WhatsApp templates; send text instead", retryable=False)
        api = _EvolutionApi(inbox, credentials, http)
        text = _with_choices(message)
        quoted = {"quoted": {"key": {"id": message.reply_to_source_id}}} if message.reply_to_source_id else {}
        media = list(message.media)
        sent: list[str] = []
        if text and (not media or media[0].file_type not in _CAPTIONED):
            sent.append(await api.send("sendText", {"number": message.to, "text": text, **quoted}))
            text, quoted = None, {}
        for item in media:
            sent.append(await api.send(*_media_request(message.to, item, text, quoted)))
            text, quoted = None, {}
        if not sent:
            raise DeliveryError("Nothing to send: the message has no text and no attachment", retryable=False)
        # One WhatsApp message per attachment; the first id is the one receipts are matched on.
        return SentMessage(source_id=sent[0], extra={"source_ids": sent} if len(sent) > 1 else {})

    async def fetch_media(
        self, inbox: Inbox, credentials: Credentials, media: IncomingMedia, http: httpx.AsyncClient
    ) -> MediaContent:
        inline = media.meta.get("base64")
        if not inline:
            if not media.provider_media_id:
                raise DeliveryError("The attachment has no WhatsApp message id to fetch it by", retryable=False)
            answer = await _EvolutionApi(inbox, credentials, http).post(
                "/chat/getBase64FromMediaMessage",
                {"message": {"key": {"id": media.provider_media_id}}, "convertToMp4": False},
            )
            inline = answer.get("base64")
            media_type = answer.get("mimetype") or media.mime_type
            filename = answer.get("fileName") or media.filename
        else:
            media_type, filename = media.mime_type, media.filename
        return MediaContent(data=_decode_base64(inline), mime_type=media_type, filename=filename)

    async def mark_read(
        self, inbox: Inbox, credentials: Credentials, source_id: str, http: httpx.AsyncClient, *, typing: bool = False
    ) -> None:
        """No-op: Evolution's read and presence calls need the chat's JID, which a message id does not give."""

    async def configure(
        self, inbox: Inbox, credentials: Credentials, callback_url: str, http: httpx.AsyncClient
    ) -> None:
        secret = credentials.get("webhook_secret")
        if not secret:
            raise DeliveryError("The inbox has no webhook_secret credential; set one and try again", retryable=False)
        headers = {SECRET_HEADER: secret}
        if jwt_key := credentials.get("jwt_key"):
            headers["jwt_key"] = jwt_key  # Evolution then also signs each call with it
        webhook = {
            "enabled": True, "url": callback_url, "headers": headers, "byEvents": False,
            # Inline media would make bodies exceed the webhook size limit; fetch_media asks for it instead.
            "base64": False, "events": list(WEBHOOK_EVENTS),
        }
        await _EvolutionApi(inbox, credentials, http).post("/webhook/set", {"webhook": webhook})


def _valid_jwt(token: str, key: str) -> bool:
    try:
        jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp", "iat"]})
    except jwt.PyJWTError:
        return False
    return True


def _with_choices(message: OutboundMessage) -> str | None:
    """Buttons and list rows as numbered lines: WhatsApp Web numbers cannot send interactive messages."""
    titles = [button.title for button in message.buttons]
    titles += [row.title for section in message.sections for row in section.rows]
    if not titles:
        return message.text
    lines = [f"{number}. {title}" for number, title in enumerate(titles, start=1)]
    return "\n".join([message.text or "", "", *lines]).strip()


def _media_request(to: str, media: OutgoingMedia, caption: str | None, quoted: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if media.file_type == FileType.sticker:
        return "sendSticker", {"number": to, "sticker": media.url, **quoted}
    mediatype = _MEDIA_TYPES.get(media.file_type)
    if mediatype is None:
        raise DeliveryError(f"Evolution cannot send a {media.file_type.value} attachment", retryable=False)
    body: dict[str, Any] = {"number": to, "mediatype": mediatype, "media": media.url, **quoted}
    body.update({k: v for k, v in {"mimetype": media.mime_type, "fileName": media.filename, "caption": caption}.items() if v})
    return "sendMedia", body


def _decode_base64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise DeliveryError("Evolution returned no media content", retryable=True)
    payload = value.split(",", 1)[1] if value.startswith("data:") else value
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise DeliveryError(f"Evolution returned media that is not base64: {exc}", retryable=False) from exc


class _EvolutionApi:
    """Calls to one instance, with the provider's failures turned into DeliveryError in plain words."""

    def __init__(self, inbox: Inbox, credentials: Credentials, http: httpx.AsyncClient) -> None:
        base_url, self.instance = inbox.channel_config.get("base_url"), inbox.channel_config.get("instance")
        self.apikey = credentials.get("apikey")
        if not base_url or not self.instance or not self.apikey:
            raise DeliveryError("The inbox needs base_url, instance and apikey to reach Evolution", retryable=False)
        if not base_url.startswith(("http://", "https://")):
            raise DeliveryError(f"Evolution's base_url must start with http:// or https://, not {base_url!r}", retryable=False)
        self.base_url = base_url.rstrip("/")
        self.http = http

    async def send(self, endpoint: str, body: dict[str, Any]) -> str:
        answer = await self.post(f"/message/{endpoint}", body)
        message_id = (answer.get("key") or {}).get("id") if isinstance(answer.get("key"), dict) else None
        if not isinstance(message_id, str):
            # Accepted but unidentifiable: retrying could send it twice, so it is not retried.
            raise DeliveryError("Evolution accepted the message but returned no message id", retryable=False)
        return message_id

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}/{quote(self.instance, safe='')}"
        try:
            response = await self.http.post(url, json=body, headers={"apikey": self.apikey})
        except httpx.TransportError as exc:
            raise DeliveryError(f"Evolution did not answer ({type(exc).__name__})", retryable=True) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict):
            return answer
        raise DeliveryError.from_http_status(response.status_code, _reason(response.status_code, answer, self.instance))


def _reason(status_code: int, answer: Any, instance: str) -> str:
    if status_code == 401:
        return "Evolution refused the apikey: check it in the inbox settings"
    detail = answer.get("response", {}).get("message") if isinstance(answer, dict) and isinstance(answer.get("response"), dict) else None
    texts = detail if isinstance(detail, list) else [detail] if detail else []
    words = []
    for item in texts:
        if isinstance(item, dict) and item.get("exists") is False:
            words.append(f"{item.get('number') or item.get('jid')} is not on WhatsApp")
        elif item:
            words.append(str(item))
    if words:
        return f"Evolution: {'; '.join(words)}"
    if status_code == 404:
        return f"Evolution has no instance named {instance}"
    return f"Evolution answered HTTP {status_code}"


register(EvolutionAdapter())
