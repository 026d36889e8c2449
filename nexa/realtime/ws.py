"""The realtime WebSockets: `/ws` for agents, `/ws/widget` for web-widget visitors. See docs/realtime.md.

Each socket is one hub `Subscription`, drained straight into the socket by a `_Sender` (events' prebuilt
frames), and one task reading the client's frames (heartbeats, availability). When either ends, both end
and the subscription closes; the close code tells the client whether to reconnect and refetch, or to stop
and sign in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Annotated, Any, Literal

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
    """Writes one socket's frames, the subscription's events and the receive task's replies: one frame at a
    time, in order, and never waiting more than SEND_TIMEOUT_SECONDS on a client that stopped reading.

    A frame is written at once, inside the hub's fan-out, when no write is in progress and the server takes
    it without waiting (uvicorn writes it into the kernel's buffer): one event to 5,000 sockets then wakes no
    task and arms no timer per socket (issue 8). A write that has to wait (the client is not reading and the
    buffers are full) goes on in a task, under the timeout; events arriving meanwhile stay in the
    subscription's bounded queue, in order, so a client that stays behind is closed as lagging.
    """

    def __init__(self, websocket: WebSocket, subscription: Subscription) -> None:
        self._websocket = websocket
        self._subscription = subscription
        self._waiting: asyncio.Task[None] | None = None  # a write that had to wait
        # Forwarding is over: the close code the subscription's end calls for, or why a write failed.
        self.ended: asyncio.Future[CloseCode | None] = asyncio.get_running_loop().create_future()

    def drain(self) -> None:
        """The hub's callback (`Subscription.drain_with`): write what is queued while the socket takes it."""
        while self._waiting is None and not self.ended.done():
            event = self._subscription.take()
            if event is not None:
                self._write(event.frame)
            elif self._subscription.close_reason is not None:
                self.ended.set_result(_CLOSE_FOR_REASON.get(self._subscription.close_reason))
            else:
                return

    async def reply(self, frame: str) -> None:
        """Write a reply after the write in progress, if any."""
        while self._waiting is not None:
            await asyncio.wait({self._waiting})
        if not self.ended.done():
            self._write(frame)

    def stop(self) -> asyncio.Task[None] | None:
        """No more writes; returns the write still waiting, cancelled, for the caller to await."""
        if not self.ended.done():
            self.ended.set_result(None)
        if self._waiting is not None:
            self._waiting.cancel()
        return self._waiting

    def _write(self, frame: str) -> None:
        # The send coroutine is run by hand up to its first wait; only a send that has to wait costs a task.
        send = self._websocket.send_text(frame)
        try:
            pending = send.send(None)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - handed to `_outcome` (e.g. the client went away)
            self.ended.set_exception(error)
            return
        self._waiting = asyncio.ensure_future(self._finish(send, pending))

    async def _finish(self, send: Coroutine[Any, Any, None], pending: Any) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await _Resumed(send, pending)
        except Exception as error:  # noqa: BLE001 - handed to `_outcome` (TimeoutError: it stopped reading)
            if not self.ended.done():
                self.ended.set_exception(error)
            return
        finally:
            self._waiting = None
        self.drain()


class _Resumed:
    """Awaits a coroutine that was started by hand and is suspended on `pending`, as if it had been awaited
    from the start: what the awaiting task sends or throws in is passed on to it."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], pending: Any) -> None:
        self._coroutine = coroutine
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        pending = self._pending
        while True:
            try:
                sent = yield pending
            except BaseException as error:  # noqa: BLE001 - handed on, cancellation included: it cleans up
                resume, argument = self._coroutine.throw, error
            else:
                resume, argument = self._coroutine.send, sent
            try:
                pending = resume(argument)
            except StopIteration:
                return


async def _serve(websocket: WebSocket, subscription: Subscription, peer: Peer, runtime: Runtime) -> CloseCode | None:
    """Run until the client leaves or the subscription closes; the close code to send, if any."""
    sender = _Sender(websocket, subscription)
    receive = asyncio.create_task(_receive(websocket, sender, peer, runtime))
    subscription.drain_with(sender.drain)
    try:
        await asyncio.wait({sender.ended, receive}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        finished: asyncio.Future[CloseCode | None] = sender.ended if sender.ended.done() else receive
        receive.cancel()
        waiting = sender.stop()
        await asyncio.gather(receive, *([waiting] if waiting else []), return_exceptions=True)
    return _outcome(finished)


def _outcome(finished: asyncio.Future[CloseCode | None]) -> CloseCode | None:
    error = finished.exception()
    if error is None:
        return finished.result()
    if isinstance(error, TimeoutError):  # a send did not complete: the client stopped reading
        return CloseCode.RESYNC
    if isinstance(error, (WebSocketDisconnect, OSError)):  # the client went away mid-send
        return None
    logger.error("realtime socket failed", exc_info=error)
    return CloseCode.INTERNAL_ERROR


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
            await sender.reply(reply)


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
