"""Provider webhooks: `/webhooks/{channel}/{inbox public id}`.

A 2xx means every event in the body is stored (see inbound.receive). Bad input is a 4xx that names the
problem: a wrong signature 401/403, malformed JSON 400, an unknown inbox or number 404, a body over
`NEXA_WEBHOOK_MAX_BYTES` 413. Never a 500 for the provider's mistakes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import DbSession, RuntimeDep
from nexa.channels import inbound
from nexa.channels.base import AnswersInWebhookReply, ChannelAdapter, InboundEvent, WebhookRejected, WebhookRequest
from nexa.channels.registry import adapter_for
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxRepository, PublicInboxRepository
from nexa.inboxes.service import read_credential
from nexa.kit.crypto import Cipher

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["channel webhooks"])

# The path segment providers are given, per channel type (Chatwoot calls WhatsApp "whatsapp").
PATH_SEGMENTS = {
    "whatsapp": ChannelType.whatsapp_cloud,
    "evolution": ChannelType.evolution,
    "telegram": ChannelType.telegram,
}
SEGMENT_OF = {channel_type: segment for segment, channel_type in PATH_SEGMENTS.items()}


def callback_url(base_url: str, inbox: Inbox) -> str | None:
    """The absolute URL to give the provider for this inbox; None for channels without webhooks."""
    segment = SEGMENT_OF.get(inbox.channel_type)
    return f"{base_url}/webhooks/{segment}/{inbox.public_id}" if segment else None


@dataclass(frozen=True)
class InboxCredentials:
    inbox: Inbox
    cipher: Cipher

    def get(self, name: str) -> str | None:
        return read_credential(self.inbox, name, cipher=self.cipher)


async def _resolve(session: AsyncSession, segment: str, public_id: str) -> tuple[Inbox, ChannelAdapter]:
    channel_type = PATH_SEGMENTS.get(segment)
    inbox = await PublicInboxRepository(session).get_by_public_id(public_id) if channel_type else None
    adapter = adapter_for(channel_type) if channel_type else None
    if inbox is None or adapter is None or inbox.channel_type != channel_type:
        raise WebhookRejected(404, "No inbox of this channel at this address")
    return inbox, adapter


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRejected(413, f"Body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookRejected(413, f"Body larger than {limit} bytes")
    return bytes(body)


def _webhook_request(request: Request, body: bytes) -> WebhookRequest:
    return WebhookRequest(
        method=request.method,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=dict(request.query_params),
        body=body,
    )


@router.get("/{channel}/{public_id}", include_in_schema=False)
async def verify_subscription(channel: str, public_id: str, request: Request, session: DbSession, runtime: RuntimeDep) -> Response:
    """The provider's subscription check (WhatsApp's hub.challenge)."""
    inbox, adapter = await _resolve(session, channel, public_id)
    reply = adapter.handshake(inbox, _webhook_request(request, b""), InboxCredentials(inbox, runtime.cipher))
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


@router.post("/{channel}/{public_id}", include_in_schema=False)
async def receive_webhook(channel: str, public_id: str, request: Request, session: DbSession, runtime: RuntimeDep) -> Response:
    """Verify, parse and store a provider's webhook; answers once everything in it is durable."""
    body = await _read_body(request, runtime.settings.webhook_max_bytes)
    inbox, adapter = await _resolve(session, channel, public_id)
    adapter.authenticate(inbox, _webhook_request(request, body), InboxCredentials(inbox, runtime.cipher))
    events = adapter.parse(body)
    routed = await _route(session, inbox, adapter, events)
    stored = 0
    for target, target_events in routed.items():
        result = await inbound.receive(session, target, target_events)
        stored += len(result.created)
    reply = adapter.webhook_reply(events) if isinstance(adapter, AnswersInWebhookReply) else None
    return JSONResponse(dict(reply) if reply else {"status": "ok", "stored": stored})


async def _route(
    session: AsyncSession, inbox: Inbox, adapter: ChannelAdapter, events: list[InboundEvent]
) -> dict[Inbox, list[InboundEvent]]:
    """Group events by the inbox they belong to.

    One WhatsApp app has one callback URL for all its numbers, so a body may carry messages for several
    of the account's inboxes, told apart by phone_number_id. A number no inbox has is a 404 only when
    nothing in the body could be stored (the provider then retries later, e.g. once the inbox exists).
    """
    own_key = adapter.route_key(inbox)
    routed: dict[Inbox, list[InboundEvent]] = {}
    siblings: dict[str, Inbox] | None = None
    unknown: set[str] = set()
    for event in events:
        target = inbox
        if event.route is not None and own_key is not None and event.route != own_key:
            if siblings is None:
                candidates = await InboxRepository(session, inbox.account_id).list(
                    InboxRepository(session, inbox.account_id).select().where(Inbox.channel_type == inbox.channel_type)
                )
                siblings = {key: c for c in candidates if (key := adapter.route_key(c)) is not None}
            found = siblings.get(event.route)
            if found is None:
                unknown.add(event.route)
                continue
            target = found
        routed.setdefault(target, []).append(event)
    if unknown:
        logger.warning("webhook events for unknown numbers", extra={"routes": sorted(unknown), "inbox_id": inbox.id})
        if not routed:
            raise WebhookRejected(404, f"Unknown phone number id: {', '.join(sorted(unknown))}")
    return routed
