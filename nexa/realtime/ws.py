"""The realtime WebSockets: `/ws` for agents, `/ws/widget` for web-widget visitors. See docs/realtime.md.

Each socket is one hub `Subscription` and two tasks: one forwards events (their prebuilt frames), one
reads the client's frames (heartbeats, availability). When either ends, both end and the subscription
closes; the close code tells the client whether to reconnect and refetch, or to stop and sign in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect

from nexa.auth.dependencies import AccountContext, authenticate, resolve_account, socket_credential
from nexa.auth.models import Availability
from nexa.auth.scopes import grants
from nexa.contacts.models import ContactInbox
from nexa.inboxes.repository import InboxMemberRepository
from nexa.kit.errors import NexaError, ServiceUnavailable
from nexa.realtime import presence
from nexa.realtime.events import (
    account_channel,
    account_members_channel,
    contact_channel,
    inbox_channel,
    user_channel,
)
from nexa.realtime.hub import CloseReason, Subscription, get_hub
from nexa.realtime.peers import Peer, peer_cache
from nexa.runtime import Runtime
from nexa.tenancy.models import Account

logger = logging.getLogger(__name__)
router = APIRouter()

# Client frames are a few dozen bytes; anything near this is a broken or hostile client.
MAX_CLIENT_FRAME_BYTES = 4096
# A client that cannot take one frame in this long is not reading: drop it rather than hold a task on it.
SEND_TIMEOUT_SECONDS = 10.0


class CloseCode(enum.IntEnum):
    MESSAGE_TOO_BIG = 1009  # a client frame over MAX_CLIENT_FRAME_BYTES: a client bug, do not retry as is
    INTERNAL_ERROR = 1011  # reconnect with backoff
    SERVICE_RESTART = 1012  # the hub stopped (deploy): reconnect, refetch
    TRY_AGAIN_LATER = 1013  # the database is out of reach: reconnect with backoff
    RESYNC = 4000  # events may have been missed (slow client or a bus gap): reconnect, refetch
    BAD_REQUEST = 4400  # missing or malformed account_id: do not retry
    UNAUTHENTICATED = 4401  # no or bad credentials: sign in again, do not retry
    FORBIDDEN = 4403  # not a member, suspended account, bot or under-scoped token: do not retry


_CLOSE_FOR_REASON = {
    CloseReason.LAGGING: CloseCode.RESYNC,
    CloseReason.RESYNC: CloseCode.RESYNC,
    CloseReason.SHUTDOWN: CloseCode.SERVICE_RESTART,
}


class Refused(Exception):
    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Ping(BaseModel):
    type: Literal["ping"]


class SetAvailability(BaseModel):
    type: Literal["presence"]
    availability: Availability


_client_frame: TypeAdapter[Ping | SetAvailability] = TypeAdapter(
    Annotated[Ping | SetAvailability, Field(discriminator="type")]
)
PONG = json.dumps({"type": "pong"})


@router.websocket("/ws")
async def agent_socket(websocket: WebSocket) -> None:
    await _run(websocket, _identify_agent)


@router.websocket("/ws/widget")
async def visitor_socket(websocket: WebSocket) -> None:
    await _run(websocket, _identify_visitor)


async def _run(websocket: WebSocket, identify: Callable[[WebSocket, Runtime], Awaitable[Peer]]) -> None:
    # Accept before authenticating: a handshake refused with HTTP 403 reaches browser code as a bare 1006,
    # so a close code after accepting is the only way to tell the client why (and not to retry).
    await websocket.accept()
    try:
        await _open(websocket, identify)
    except ServiceUnavailable as unavailable:
        # Signing in or announcing presence needs the database (or Redis): after accept() an escaping error is
        # only a dropped socket (and an ASGI error in the log); a close code tells the client to retry.
        with contextlib.suppress(Exception):
            await websocket.close(CloseCode.TRY_AGAIN_LATER, unavailable.message)


async def _open(websocket: WebSocket, identify: Callable[[WebSocket, Runtime], Awaitable[Peer]]) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        peer = await identify(websocket, runtime)
    except Refused as refused:
        await websocket.close(refused.code, refused.reason)
        return
    async with get_hub().connect(peer.channels) as subscription:
        if peer.user_id is not None:
            await presence.agent_connected(runtime, peer.account_id, peer.user_id)
        elif peer.contact_id is not None:
            await presence.visitor_heartbeat(runtime, peer.account_id, peer.contact_id)
        code = await _serve(websocket, subscription, peer, runtime)
    if code is not None:
        with contextlib.suppress(Exception):  # the client may be gone already; nothing left to tell it
            await asyncio.wait_for(websocket.close(code), SEND_TIMEOUT_SECONDS)


async def _identify_agent(websocket: WebSocket, runtime: Runtime) -> Peer:
    try:
        account_id = int(websocket.query_params.get("account_id", ""))
    except ValueError:
        raise Refused(CloseCode.BAD_REQUEST, "account_id query parameter is required") from None
    try:
        credential = socket_credential(websocket, runtime)
    except NexaError as exc:
        raise Refused(CloseCode.UNAUTHENTICATED, exc.message) from None
    # A reconnect within the cache's lifetime costs no database read; revocations reach the cache at once.
    cache = peer_cache(runtime)
    key, generation = cache.key(credential, account_id), cache.generation
    if (peer := cache.get(key)) is not None:
        return peer
    async with runtime.db.session(write=False) as session:
        try:
            principal = await authenticate(websocket, session, runtime)
        except NexaError as exc:
            raise Refused(CloseCode.UNAUTHENTICATED, exc.message) from None
        if principal.user is None:
            raise Refused(CloseCode.FORBIDDEN, "agent bots have no realtime stream")
        try:
            ctx = await resolve_account(session, principal, account_id, bots=False)
        except NexaError as exc:
            raise Refused(CloseCode.FORBIDDEN, exc.message) from None
        if not grants(principal.scopes, "conversations:read"):
            raise Refused(CloseCode.FORBIDDEN, "the token lacks the conversations:read scope")
        channels = await agent_channels(session, ctx)
    peer = Peer(channels=channels, account_id=account_id, user_id=principal.user.id)
    cache.put(key, peer, generation=generation, expires_at=principal.expires_at)
    return peer


async def agent_channels(session: AsyncSession, ctx: AccountContext) -> frozenset[str]:
    """Chatwoot's rule: conversation events go to the inbox's members plus the account's administrators."""
    assert ctx.user is not None
    channels = {user_channel(ctx.user.id), account_members_channel(ctx.account_id)}
    if ctx.is_admin:
        channels.add(account_channel(ctx.account_id))  # every conversation event also names the account
    else:
        inbox_ids = await InboxMemberRepository(session, ctx.account_id).inbox_ids_of_user(ctx.user.id)
        channels.update(inbox_channel(inbox_id) for inbox_id in inbox_ids)
    return frozenset(channels)


async def _identify_visitor(websocket: WebSocket, runtime: Runtime) -> Peer:
    # No Origin check: the widget runs on customers' sites by design, and the secret token, not a cookie,
    # is the credential, so another site cannot borrow it.
    token = websocket.query_params.get("pubsub_token", "")
    if not token:
        raise Refused(CloseCode.UNAUTHENTICATED, "pubsub_token query parameter is required")
    async with runtime.db.session(write=False) as session:
        # The token is unique across accounts and is itself the proof of identity: no account to scope by yet.
        contact_inbox = await session.scalar(select(ContactInbox).where(ContactInbox.pubsub_token == token))
        if contact_inbox is None:
            raise Refused(CloseCode.UNAUTHENTICATED, "unknown pubsub_token")
        account = await session.get(Account, contact_inbox.account_id)
        if account is None or not account.is_active:
            raise Refused(CloseCode.FORBIDDEN, "Account is suspended")
    return Peer(
        channels=frozenset({contact_channel(contact_inbox.id)}), account_id=contact_inbox.account_id,
        contact_id=contact_inbox.contact_id,
    )


class _Sender:
    """Both tasks write to the socket: one frame at a time, and never waiting forever on a stalled client."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, frame: str) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every send in a new task, which is
        # 5,000 extra tasks for one event fanned out to 5,000 sockets.
        async with self._lock, asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await self._websocket.send_text(frame)


async def _serve(websocket: WebSocket, subscription: Subscription, peer: Peer, runtime: Runtime) -> CloseCode | None:
    """Run until the client leaves or the subscription closes; the close code to send, if any."""
    sender = _Sender(websocket)
    forward = asyncio.create_task(_forward(subscription, sender))
    receive = asyncio.create_task(_receive(websocket, sender, peer, runtime))
    try:
        done, _ = await asyncio.wait({forward, receive}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (forward, receive):
            task.cancel()
        await asyncio.gather(forward, receive, return_exceptions=True)
    return _outcome(done.pop())


def _outcome(task: asyncio.Task[CloseCode | None]) -> CloseCode | None:
    error = task.exception()
    if error is None:
        return task.result()
    if isinstance(error, TimeoutError):  # a send did not complete: the client stopped reading
        return CloseCode.RESYNC
    if isinstance(error, (WebSocketDisconnect, OSError)):  # the client went away mid-send
        return None
    logger.error("realtime socket failed", exc_info=error)
    return CloseCode.INTERNAL_ERROR


async def _forward(subscription: Subscription, sender: _Sender) -> CloseCode | None:
    async for event in subscription:
        await sender.send(event.frame)
    assert subscription.close_reason is not None
    return _CLOSE_FOR_REASON.get(subscription.close_reason)


async def _receive(websocket: WebSocket, sender: _Sender, peer: Peer, runtime: Runtime) -> CloseCode | None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        raw: str | bytes = message.get("text") or message.get("bytes") or ""
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)
        if size > MAX_CLIENT_FRAME_BYTES:
            return CloseCode.MESSAGE_TOO_BIG
        reply = await _answer(raw, peer, runtime)
        if reply is not None:
            await sender.send(reply)


async def _answer(raw: str | bytes, peer: Peer, runtime: Runtime) -> str | None:
    """Handle one client frame; the reply frame, if any. A bad frame gets an error frame, never a close."""
    try:
        frame = _client_frame.validate_json(raw)
    except ValidationError:
        return _error('expected {"type": "ping"} or {"type": "presence", "availability": "online|busy|offline"}')
    if peer.user_id is None:
        if not isinstance(frame, Ping):
            return _error("presence is only for agents")
        if peer.contact_id is not None:
            await presence.visitor_heartbeat(runtime, peer.account_id, peer.contact_id)
        return PONG
    if isinstance(frame, SetAvailability):
        await presence.change_availability(runtime, peer.account_id, peer.user_id, frame.availability)
        return None  # the presence.update broadcast reaches this socket too
    await presence.heartbeat(runtime, peer.account_id, peer.user_id)
    return PONG


def _error(message: str) -> str:
    return json.dumps({"type": "error", "message": message})
