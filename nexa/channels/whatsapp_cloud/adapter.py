"""WhatsApp Cloud API (Meta) channel: webhook verification and parsing, sends, media, read receipts.

Inbox settings: channel_config `phone_number_id` (routes one app's webhooks to the right inbox),
`business_account_id`, optional `api_base_url` (default the real Graph API; staging and tests point it at
a fake) and `rate_per_second`; secrets `access_token`, `app_secret`, `webhook_verify_token`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import httpx

from nexa.channels.base import (
    Capabilities,
    Credentials,
    DeliveryError,
    IncomingMedia,
    InboundEvent,
    MediaContent,
    OutboundMessage,
    SentMessage,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from nexa.channels.registry import register
from nexa.channels.whatsapp_cloud.errors import classify
from nexa.channels.whatsapp_cloud.outgoing import message_body, read_body
from nexa.channels.whatsapp_cloud.parse import parse_webhook
from nexa.conversations.models import FileType
from nexa.inboxes.models import ChannelType, Inbox
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _

DEFAULT_API_BASE_URL = "https://graph.facebook.com/v25.0"
# Meta's default throughput per business number; numbers Meta has upgraded can say so in rate_per_second.
DEFAULT_RATE_PER_SECOND = 80.0
SIGNATURE_HEADER = "x-hub-signature-256"


def api_base_url(inbox: Inbox) -> str:
    return str(inbox.channel_config.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")


def signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class WhatsAppCloudAdapter:
    channel_type = ChannelType.whatsapp_cloud
    capabilities = Capabilities(
        service_window=timedelta(hours=24),
        max_text_length=4096,
        max_buttons=3,
        lists=True,
        templates=True,
        media=frozenset({FileType.image, FileType.audio, FileType.video, FileType.file, FileType.sticker}),
        typing=True,
        read_receipts=True,
        rate_per_second=DEFAULT_RATE_PER_SECOND,
    )

    # --- inbound ---------------------------------------------------------------------------------------

    def handshake(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> WebhookReply:
        expected = credentials.get("webhook_verify_token")
        given = request.query.get("hub.verify_token", "")
        if request.query.get("hub.mode") != "subscribe" or not expected or not _equal(given, expected):
            raise WebhookRejected(
                403, _("Verification failed: hub.verify_token does not match the inbox's verify token")
            )
        return WebhookReply(200, request.query.get("hub.challenge", ""), media_type="text/plain")

    def authenticate(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> None:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise WebhookRejected(401, _("Missing X-Hub-Signature-256 header"))
        app_secret = credentials.get("app_secret")
        if not app_secret or not _equal(given.lower(), signature(app_secret, request.body)):
            raise WebhookRejected(
                403, _("X-Hub-Signature-256 does not match the body signed with the inbox's app secret")
            )

    def parse(self, body: bytes) -> list[InboundEvent]:
        return parse_webhook(body)

    def route_key(self, inbox: Inbox) -> str | None:
        value = inbox.channel_config.get("phone_number_id")
        return str(value) if value else None

    def rate_per_second(self, inbox: Inbox) -> float:
        """Sends per second for this inbox's number: channel_config `rate_per_second`, else Meta's default."""
        configured = inbox.channel_config.get("rate_per_second")
        return float(configured) if configured else DEFAULT_RATE_PER_SECOND

    # --- outbound --------------------------------------------------------------------------------------

    async def send(
        self, inbox: Inbox, credentials: Credentials, message: OutboundMessage, http: httpx.AsyncClient
    ) -> SentMessage:
        try:
            body = message_body(message)
        except ValidationFailed as exc:
            raise DeliveryError(exc.message, retryable=False, code="invalid_message") from None
        answer = await call_graph(http, "POST", f"{_number_url(inbox)}/messages", credentials, json=body)
        sent = answer.json()
        messages = sent.get("messages") or [{}]
        if not messages[0].get("id"):
            raise DeliveryError("WhatsApp accepted the message but returned no message id", retryable=False)
        contacts = sent.get("contacts") or [{}]
        extra = {key: value for key, value in {
            "wa_id": contacts[0].get("wa_id"), "user_id": contacts[0].get("user_id"),
            "message_status": messages[0].get("message_status"),
        }.items() if value}
        return SentMessage(source_id=messages[0]["id"], extra=extra)

    async def fetch_media(
        self, inbox: Inbox, credentials: Credentials, media: IncomingMedia, http: httpx.AsyncClient
    ) -> MediaContent:
        if not media.provider_media_id:
            raise DeliveryError("The attachment has no WhatsApp media id", retryable=False, code="no_media_id")
        # The download URL expires after 5 minutes: always ask for a fresh one.
        described = await call_graph(
            http, "GET", f"{api_base_url(inbox)}/{media.provider_media_id}", credentials,
            params={"phone_number_id": self.route_key(inbox)} if self.route_key(inbox) else None,
        )
        info = described.json()
        if not info.get("url"):
            raise DeliveryError("WhatsApp returned no download URL for the media", retryable=False)
        content = await call_graph(http, "GET", info["url"], credentials)
        return MediaContent(
            data=content.content,
            mime_type=info.get("mime_type") or media.mime_type or content.headers.get("content-type"),
            filename=media.filename,
        )

    async def mark_read(
        self, inbox: Inbox, credentials: Credentials, source_id: str, http: httpx.AsyncClient, *, typing: bool = False
    ) -> None:
        await call_graph(http, "POST", f"{_number_url(inbox)}/messages", credentials, json=read_body(source_id, typing=typing))


def _number_url(inbox: Inbox) -> str:
    phone_number_id = inbox.channel_config.get("phone_number_id")
    if not phone_number_id:
        raise DeliveryError("The inbox has no phone_number_id", retryable=False, code="not_configured")
    return f"{api_base_url(inbox)}/{phone_number_id}"


async def call_graph(http: httpx.AsyncClient, method: str, url: str, credentials: Credentials, **kwargs: Any) -> httpx.Response:
    """One Graph API call with the inbox's token; a refusal or an unreachable API raises DeliveryError in plain words."""
    token = credentials.get("access_token")
    if not token:
        raise DeliveryError("The inbox has no access token", retryable=False, code="not_configured")
    try:
        response = await http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    except httpx.TransportError as exc:
        raise DeliveryError(
            f"Could not reach the WhatsApp Cloud API ({type(exc).__name__}): it will be retried.", retryable=True, code="network"
        ) from exc
    if response.is_success:
        return response
    raise _graph_error(response)


def _graph_error(response: httpx.Response) -> DeliveryError:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    kind = classify(code, http_status=response.status_code, transient=bool(error.get("is_transient")))
    retry_after = _retry_after(response) or kind.retry_after
    return DeliveryError(
        kind.reason, retryable=kind.retryable, code=str(code) if code is not None else f"http_{response.status_code}",
        retry_after=retry_after if kind.retryable else None,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


adapter = register(WhatsAppCloudAdapter())
