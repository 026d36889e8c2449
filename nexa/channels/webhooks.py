"""Provider webhooks: `/webhooks/{channel}/{inbox public id}`.

A 2xx means the body is durably stored: it is queued as a job and processed right after, in batches
(see inbound_queue). Bad input is a 4xx that names the
problem: a wrong signature 401/403, malformed JSON 400, an unknown inbox or number 404, a body over
`NEXA_WEBHOOK_MAX_BYTES` 413. Never a 500 for the provider's mistakes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import DbSession, RuntimeDep
from nexa.channels import inbound_queue
from nexa.channels.base import AnswersInWebhookReply, ChannelAdapter, WebhookRejected, WebhookRequest
from nexa.channels.registry import adapter_for
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import PublicInboxRepository
from nexa.inboxes.service import read_credential
from nexa.kit.crypto import Cipher
from nexa.kit.lazy_text import _

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["channel webhooks"])

# The path segment providers are given, per channel type (Chatwoot calls WhatsApp "whatsapp").
PATH_SEGMENTS = {
    "whatsapp": ChannelType.whatsapp_cloud,
    "evolution": ChannelType.evolution,
    "telegram": ChannelType.telegram,
}
SEGMENT_OF = {channel_type: segment for segment, channel_type in PATH_SEGMENTS.items()}

_INBOX_TTL = 5.0
_INBOX_CACHE_SIZE = 10_000
_inboxes: dict[str, tuple[float, Inbox]] = {}


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


async def _inbox(session: AsyncSession, public_id: str) -> Inbox | None:
    """The inbox at this address, cached a few seconds: a busy number posts hundreds of webhooks a second.

    Changes made in this process drop the entry at once (mapper events below); other processes see them
    within `_INBOX_TTL` seconds (a rotated app secret may answer 401 that long, and the provider retries).
    Credentials stay encrypted in the cached row, as in the database.
    """
    now = time.monotonic()
    cached = _inboxes.get(public_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    inbox = await PublicInboxRepository(session).get_by_public_id(public_id)
    if inbox is not None:
        session.expunge(inbox)  # detached: safe to hand to other requests' code, which only reads it
        if len(_inboxes) >= _INBOX_CACHE_SIZE:
            _inboxes.clear()
        _inboxes[public_id] = (now + _INBOX_TTL, inbox)
    return inbox


@event.listens_for(Inbox, "after_update")
@event.listens_for(Inbox, "after_delete")
def _forget_inbox(_mapper: Any, _connection: Any, inbox: Inbox) -> None:
    _inboxes.pop(inbox.public_id, None)


async def _resolve(session: AsyncSession, segment: str, public_id: str) -> tuple[Inbox, ChannelAdapter]:
    channel_type = PATH_SEGMENTS.get(segment)
    inbox = await _inbox(session, public_id) if channel_type else None
    adapter = adapter_for(channel_type) if channel_type else None
    if inbox is None or adapter is None or inbox.channel_type != channel_type:
        raise WebhookRejected(404, _("No inbox of this channel at this address"))
    return inbox, adapter


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRejected(413, _("Body larger than %(limit)s bytes", limit=limit))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookRejected(413, _("Body larger than %(limit)s bytes", limit=limit))
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
async def receive_webhook(channel: str, public_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Verify, parse and store a provider's webhook; answers once everything in it is durable."""
    body = await _read_body(request, runtime.settings.webhook_max_bytes)
    # Only reads here (usually none: the inbox is cached); the body is written by the shared group commit,
    # which must not wait behind a write transaction of this request's (SQLite has one writer at a time).
    async with runtime.db.session(write=False) as session:
        inbox, adapter = await _resolve(session, channel, public_id)
        adapter.authenticate(inbox, _webhook_request(request, body), InboxCredentials(inbox, runtime.cipher))
        events = adapter.parse(body)
        if events:
            await inbound_queue.route(session, inbox, adapter, events)  # a 404 when no inbox takes any of it
    if events:
        await inbound_queue.store(runtime, inbox, body, events)
    reply = adapter.webhook_reply(events) if isinstance(adapter, AnswersInWebhookReply) else None
    return JSONResponse(dict(reply) if reply else {"status": "ok", "queued": len(events)})
