"""Provider webhooks: `/webhooks/{channel}/{inbox public id}`.

A 2xx means the body is durably stored: it is queued as a job and processed right after, in batches
(see inbound_queue). Bad input is a 4xx that names the
problem: a wrong signature 401/403, malformed JSON 400, an unknown inbox or number 404, a body over
`NEXA_WEBHOOK_MAX_BYTES` 413. Never a 500 for the provider's mistakes.

This is the busiest path of `nexa serve` (a customer message costs a text webhook and two or three status
receipts), so it is served by one plain ASGI route placed before the API's routes (decision 0009): no
FastAPI dependency solving, request object or response model, and no database session unless the inbox
must be looked up. It still runs inside the app's middleware (request id, metrics, access log, CORS) and
its error handlers, which render a `WebhookRejected` as every other `NexaError`.

The inbox is cached by public id for `_INBOX_TTL` seconds; its secrets (the app secret that checks every
signature) are decrypted once per process by `Cipher.decrypt`, where decrypting them on every request cost
about 4 % of the server's CPU. Trade-off: plaintext secrets stay in this process's memory (never on disk,
never logged), which holds the encryption key anyway. An entry goes when its inbox is updated or deleted in
this process (at flush and again at commit; a lookup under way across such a change does not cache what it
read), when it expires, or when the cache is full; other processes see a change within `_INBOX_TTL`
seconds (a rotated app secret may answer 403 that long, and the provider retries).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from nexa.channels import inbound_queue
from nexa.channels.base import AnswersInWebhookReply, ChannelAdapter, WebhookRejected, WebhookRequest
from nexa.channels.registry import adapter_for
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import PublicInboxRepository
from nexa.inboxes.service import read_credential
from nexa.kit.crypto import Cipher
from nexa.kit.lazy_text import _
from nexa.runtime import Runtime

logger = logging.getLogger(__name__)

PATH = "/webhooks/{channel}/{public_id}"
# The path segment providers are given, per channel type (Chatwoot calls WhatsApp "whatsapp").
PATH_SEGMENTS = {
    "whatsapp": ChannelType.whatsapp_cloud,
    "evolution": ChannelType.evolution,
    "telegram": ChannelType.telegram,
}
SEGMENT_OF = {channel_type: segment for segment, channel_type in PATH_SEGMENTS.items()}

_INBOX_TTL = 5.0
_INBOX_CACHE_SIZE = 10_000


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


@dataclass(frozen=True)
class _CachedInbox:
    expires: float
    inbox: Inbox
    credentials: InboxCredentials


_inboxes: dict[str, _CachedInbox] = {}
# Inbox changes seen by this process so far: a lookup that began before the latest one does not cache
# what it read (see `_forget_inbox`).
_changes_seen = 0
_CHANGED_INBOXES = "nexa_changed_inboxes"
# The lookup under way for a public id: requests that miss the cache meanwhile wait for it instead of
# each running their own (when an entry expires under load, dozens of requests miss it at once).
_lookups: dict[str, asyncio.Future[_CachedInbox | None]] = {}


async def _inbox(runtime: Runtime, public_id: str) -> _CachedInbox | None:
    """The inbox at this address, cached a few seconds: a busy number posts hundreds of webhooks a second.

    Changes made in this process drop the entry at once (mapper events below); other processes see them
    within `_INBOX_TTL` seconds.
    """
    cached = _inboxes.get(public_id)
    if cached is not None and cached.expires > time.monotonic():
        return cached
    lookup = _lookups.get(public_id)
    # A lookup left behind by another event loop (one that was closed mid-lookup) is never awaited.
    if lookup is None or lookup.get_loop() is not asyncio.get_running_loop():
        lookup = _lookups[public_id] = asyncio.ensure_future(_look_up(runtime, public_id))
        lookup.add_done_callback(_lookup_done(public_id))
    # Shielded: a waiter that goes away (a client disconnect) must not cancel the others' lookup.
    return await asyncio.shield(lookup)


def _lookup_done(public_id: str) -> Callable[[asyncio.Future[_CachedInbox | None]], None]:
    def forget(done: asyncio.Future[_CachedInbox | None]) -> None:
        if _lookups.get(public_id) is done:
            del _lookups[public_id]

    return forget


async def _look_up(runtime: Runtime, public_id: str) -> _CachedInbox | None:
    changes_before = _changes_seen
    async with runtime.db.session(write=False) as session:
        inbox = await PublicInboxRepository(session).get_by_public_id(public_id)
        if inbox is None:
            return None
        session.expunge(inbox)  # detached: safe to hand to other requests' code, which only reads it
    cached = _CachedInbox(time.monotonic() + _INBOX_TTL, inbox, InboxCredentials(inbox, runtime.cipher))
    if changes_before != _changes_seen:
        return cached  # may be the row from before a change: good for this request, not for later ones
    if len(_inboxes) >= _INBOX_CACHE_SIZE:
        _inboxes.clear()
    _inboxes[public_id] = cached
    return cached


@event.listens_for(Inbox, "after_update")
@event.listens_for(Inbox, "after_delete")
def _forget_inbox(_mapper: Any, _connection: Any, inbox: Inbox) -> None:
    """Drop the changed inbox now (at flush) and again once its transaction commits: a webhook between the
    two reads the row as it was, uncommitted changes being invisible to it, and would cache it."""
    _forget(inbox.public_id)
    session = object_session(inbox)
    if session is not None:
        session.info.setdefault(_CHANGED_INBOXES, set()).add(inbox.public_id)


@event.listens_for(Session, "after_commit")
def _forget_committed_inboxes(session: Session) -> None:
    for public_id in session.info.pop(_CHANGED_INBOXES, ()):
        _forget(public_id)


def _forget(public_id: str) -> None:
    global _changes_seen
    _changes_seen += 1
    _inboxes.pop(public_id, None)


async def _resolve(runtime: Runtime, segment: str, public_id: str) -> tuple[_CachedInbox, ChannelAdapter]:
    channel_type = PATH_SEGMENTS.get(segment)
    cached = await _inbox(runtime, public_id) if channel_type else None
    adapter = adapter_for(channel_type) if channel_type else None
    if cached is None or adapter is None or cached.inbox.channel_type != channel_type:
        raise WebhookRejected(404, _("No inbox of this channel at this address"))
    return cached, adapter


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRejected(413, _("Body larger than %(limit)s bytes", limit=limit))
    body = bytearray()  # appended in place: a body trickled in many small chunks costs no more than one
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > limit:
            raise WebhookRejected(413, _("Body larger than %(limit)s bytes", limit=limit))
        more = message.get("more_body", False)
    return bytes(body)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _webhook_request(scope: Scope, body: bytes) -> WebhookRequest:
    # ASGI servers give header names in lower case, as adapters expect them.
    query = scope.get("query_string", b"")
    return WebhookRequest(
        method=scope["method"],
        headers={name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]},
        query=dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {},
        body=body,
    )


async def _verify_subscription(runtime: Runtime, scope: Scope, channel: str, public_id: str) -> Response:
    """The provider's subscription check (WhatsApp's hub.challenge)."""
    cached, adapter = await _resolve(runtime, channel, public_id)
    reply = adapter.handshake(cached.inbox, _webhook_request(scope, b""), cached.credentials)
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


async def _receive_webhook(runtime: Runtime, scope: Scope, receive: Receive, channel: str, public_id: str) -> Response:
    """Verify, parse and store a provider's webhook; answers once everything in it is durable."""
    body = await _read_body(scope, receive, runtime.settings.webhook_max_bytes)
    cached, adapter = await _resolve(runtime, channel, public_id)
    inbox = cached.inbox
    adapter.authenticate(inbox, _webhook_request(scope, body), cached.credentials)
    events = adapter.parse(body)
    if events:
        await inbound_queue.require_routable(runtime.db, inbox, adapter, events)  # a 404 when no inbox takes any
        await inbound_queue.store(runtime, inbox, body, events)
    reply = adapter.webhook_reply(events) if _answers_in_webhook_reply(type(adapter)) else None  # type: ignore[attr-defined]
    return JSONResponse(dict(reply) if reply else {"status": "ok", "queued": len(events)})


@functools.cache
def _answers_in_webhook_reply(adapter_type: type[ChannelAdapter]) -> bool:
    # Once per adapter class: isinstance against a runtime-checkable Protocol walks the Protocol's members on
    # every call (5.6 us, ~3 % of a webhook's CPU in `nexa serve`).
    return issubclass(adapter_type, AnswersInWebhookReply)


class _WebhookRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self  # its template labels the request's metrics and log line
        return match, child_scope


class _WebhookEndpoint:
    """An ASGI endpoint (Starlette would wrap a plain function into a request/response handler)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime: Runtime = scope["app"].state.runtime
        channel, public_id = scope["path_params"]["channel"], scope["path_params"]["public_id"]
        if scope["method"] == "POST":
            response = await _receive_webhook(runtime, scope, receive, channel, public_id)
        else:
            response = await _verify_subscription(runtime, scope, channel, public_id)
        await response(scope, receive, send)


def webhook_route() -> Route:
    """The route serving provider webhooks (POST) and subscription checks (GET); other methods get a 405."""
    return _WebhookRoute(PATH, _WebhookEndpoint(), methods=["GET", "POST"], include_in_schema=False, name="provider_webhook")
