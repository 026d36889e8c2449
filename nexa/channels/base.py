"""The channel adapter protocol and the normalized events every adapter produces.

An adapter knows one provider's wire format and nothing of Nexa's storage: it verifies and parses
webhooks into the events below, sends `OutboundMessage`s, and fetches media. The inbound pipeline
(inbound.py) and the delivery job (outbound.py) are shared by every channel. Adding a channel touches
only its own folder and the registry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import httpx

from nexa.conversations.models import ContentType, FileType, MessageStatus
from nexa.inboxes.models import ChannelType, Inbox
from nexa.kit.errors import NexaError
from nexa.kit.lazy_text import LazyText, _


class WebhookRejected(NexaError):
    """A webhook the provider must be told off for; `status_code` is 400, 401, 403, 404 or 413."""

    def __init__(self, status_code: int, message: LazyText) -> None:
        super().__init__(message)
        self.status_code = status_code


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or WebhookRejected(400) naming what is wrong with it.

    Refused too: NaN/Infinity (not JSON, and PostgreSQL's jsonb rejects them) and nesting deep enough to
    exhaust Python's recursion limit. NUL characters, which PostgreSQL text cannot hold, are dropped from
    strings rather than losing the message for them.
    """
    try:
        parsed = json.loads(body, parse_constant=_refuse_constant)
        # JSON can only carry NUL escaped, so bodies without the escape (nearly all) skip the walk.
        if b"\\u0000" in body:
            parsed = _without_nul(parsed)
    except ValueError as exc:
        raise WebhookRejected(400, _("Malformed JSON: %(reason)s", reason=exc)) from exc
    except RecursionError:
        raise WebhookRejected(400, _("Malformed JSON: nested too deeply")) from None
    if not isinstance(parsed, dict):
        raise WebhookRejected(400, _("The body must be a JSON object"))
    return parsed


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class WebhookRequest:
    """What an adapter may look at: never a framework object, so adapters are testable alone."""

    method: str
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookReply:
    status_code: int
    body: str
    media_type: str = "text/plain"


class Credentials(Protocol):
    """An inbox's secrets, decrypted on demand."""

    def get(self, name: str) -> str | None: ...


# --- inbound -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """Who wrote, as the channel knows them."""

    source_id: str  # the address in this inbox: WhatsApp wa_id, Telegram chat id, Evolution number
    name: str | None = None
    phone: str | None = None  # E.164 or digits when the channel knows the number
    identifier: str | None = None  # e.g. the WhatsApp JID or a Telegram username


@dataclass(frozen=True)
class IncomingMedia:
    file_type: FileType
    provider_media_id: str | None = None  # fetched later with the inbox's credentials
    url: str | None = None
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)  # coordinates, contact cards, voice flag...


@dataclass(frozen=True)
class InboundMessage:
    source_id: str
    customer: Customer
    sent_at: datetime
    content: str | None = None
    content_type: ContentType = ContentType.text
    # Chatwoot keys where they exist: in_reply_to_external_id, is_reaction, external_error, interactive ids...
    content_attributes: Mapping[str, Any] = field(default_factory=dict)
    attachments: tuple[IncomingMedia, ...] = ()
    referral: Mapping[str, Any] | None = None  # click-to-WhatsApp ad, kept on the conversation
    # Routing key inside one webhook URL: WhatsApp phone_number_id, Evolution instance. None: the URL says.
    route: str | None = None
    # Written from the business side (Evolution's fromMe: the phone app itself): stored as outgoing.
    from_business: bool = False


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery receipt for one of our outgoing messages."""

    source_id: str
    status: MessageStatus
    at: datetime
    error_code: str | None = None
    error_title: str | None = None
    error_details: str | None = None
    route: str | None = None
    # The customer's address the message went to, when the provider says (it orders their receipts
    # with their messages: see inbound_queue.shard_of).
    recipient: str | None = None


@dataclass(frozen=True)
class MessageChanged:
    """The customer edited or deleted a message they sent earlier."""

    source_id: str  # of the original message
    deleted: bool = False
    content: str | None = None
    at: datetime | None = None
    route: str | None = None


@dataclass(frozen=True)
class ChannelStatus:
    """The provider reported on the channel itself (Evolution's connection state, a fresh QR code).

    No message: the values are kept on the inbox (channel_config["channel_status"]) for the UI to show.
    """

    values: Mapping[str, Any]
    route: str | None = None


InboundEvent = InboundMessage | StatusUpdate | MessageChanged | ChannelStatus


# --- outbound ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMedia:
    file_type: FileType
    url: str
    filename: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class ReplyButton:
    id: str
    title: str


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class ListSection:
    title: str | None
    rows: tuple[ListRow, ...]


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    # WhatsApp components as the Graph API takes them (header/body/button parameters).
    components: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class OutboundMessage:
    to: str  # the contact's source_id in the inbox
    text: str | None = None
    reply_to_source_id: str | None = None
    media: tuple[OutgoingMedia, ...] = ()
    buttons: tuple[ReplyButton, ...] = ()
    list_button: str | None = None
    sections: tuple[ListSection, ...] = ()
    template: Template | None = None
    # Idempotency key: the delivery job's id, for providers that accept one.
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SentMessage:
    source_id: str  # the provider's message id, to match receipts
    extra: Mapping[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send the provider refused. `retryable` decides between backoff and marking the message failed."""

    def __init__(
        self, reason: str, *, retryable: bool, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code
        self.retry_after = retry_after

    @classmethod
    def from_http_status(cls, status_code: int, reason: str, *, retry_after: float | None = None) -> DeliveryError:
        """For providers whose HTTP status is the error class: 429 and 5xx are retried, other 4xx are final."""
        retryable = status_code == 429 or status_code >= 500
        return cls(reason, retryable=retryable, code=str(status_code), retry_after=retry_after)


@dataclass(frozen=True)
class MediaContent:
    data: bytes
    mime_type: str | None
    filename: str | None = None


# --- the protocol --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    # Free-form messages allowed only this long after the customer's last message (WhatsApp: 24 h).
    service_window: timedelta | None = None
    max_text_length: int = 4096
    max_buttons: int = 0
    lists: bool = False
    templates: bool = False
    media: frozenset[FileType] = frozenset()
    typing: bool = False
    read_receipts: bool = False
    # Sends per second per inbox (the business number) before the provider throttles.
    rate_per_second: float | None = None


class ChannelAdapter(Protocol):
    channel_type: ChannelType
    capabilities: Capabilities

    def handshake(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> WebhookReply:
        """Answer the provider's GET verification (WhatsApp's hub.challenge); raise WebhookRejected if wrong."""

    def authenticate(self, inbox: Inbox, request: WebhookRequest, credentials: Credentials) -> None:
        """Check the webhook really comes from the provider; raise WebhookRejected(401/403) if not."""

    def parse(self, body: bytes) -> list[InboundEvent]:
        """Every event in the body, in order; raise WebhookRejected(400) for a malformed one.

        Types the adapter does not understand become an InboundMessage marked unsupported, never dropped.
        """

    def route_key(self, inbox: Inbox) -> str | None:
        """The inbox's value for `InboundEvent.route` (e.g. its phone_number_id); None if not routed."""

    async def send(
        self, inbox: Inbox, credentials: Credentials, message: OutboundMessage, http: httpx.AsyncClient
    ) -> SentMessage:
        """Deliver one message; raise DeliveryError with the provider's reason when refused."""

    async def fetch_media(
        self, inbox: Inbox, credentials: Credentials, media: IncomingMedia, http: httpx.AsyncClient
    ) -> MediaContent:
        """The bytes of an inbound attachment; raise DeliveryError (retryable or not) on failure."""

    async def mark_read(
        self, inbox: Inbox, credentials: Credentials, source_id: str, http: httpx.AsyncClient, *, typing: bool = False
    ) -> None:
        """Tell the customer their message was read (and optionally that we are typing); no-op if unsupported."""


@runtime_checkable
class ConfiguresWebhook(Protocol):
    """An adapter that can point the provider at Nexa itself (Evolution's webhook/set, Telegram's setWebhook)."""

    async def configure(
        self, inbox: Inbox, credentials: Credentials, callback_url: str, http: httpx.AsyncClient
    ) -> None:
        """Register `callback_url` with the provider; raise DeliveryError with the provider's reason if refused."""


@runtime_checkable
class AnswersInWebhookReply(Protocol):
    """An adapter whose provider accepts a method call in the webhook's response body (Telegram)."""

    def webhook_reply(self, events: list[InboundEvent]) -> Mapping[str, Any] | None:
        """The JSON to answer the webhook with, or None for the default acknowledgement."""
