"""The realtime WebSockets against a real uvicorn server: who hears what, who is refused, and how sockets end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from nexa.auth.models import Role
from nexa.contacts.models import ContactInbox
from nexa.conversations.models import Conversation
from nexa.realtime import Event, EventName, account_channel, contact_channel, publish_now, user_channel, ws
from nexa.realtime.ws import MAX_CLIENT_FRAME_BYTES, CloseCode
from nexa.runtime import Runtime
from tests.factories import PASSWORD, Member, make_member
from tests.realtime._server import TIMEOUT, Server, api, close_code, events_until_marker, next_frame, serve
from tests.realtime.test_hub import sample


def agent_url(server: Server, member: Member, **params: Any) -> str:
    query = {"account_id": member.account.id, "token": member.token, **params}
    return f"{server.ws}/ws?" + "&".join(f"{k}={v}" for k, v in query.items() if v is not None)


async def drain_presence(websocket: ClientConnection) -> None:
    """Connecting sends the presence map first; tests about other events start after it."""
    assert (await next_frame(websocket))["event"] == EventName.PRESENCE_UPDATE


async def make_inbox(client: httpx.AsyncClient, admin: Member, name: str) -> dict[str, Any]:
    return await api(client, "POST", f"/api/v1/accounts/{admin.account.id}/inboxes", admin.token, name=name, channel_type="api")


async def open_conversation(client: httpx.AsyncClient, admin: Member, inbox: dict[str, Any], name: str = "Ana") -> str:
    """A new contact's conversation in `inbox`; its URL."""
    account = f"/api/v1/accounts/{admin.account.id}"
    contact = (await api(client, "POST", f"{account}/contacts", admin.token, name=name, inbox_id=inbox["id"]))["payload"]["contact"]
    conversation = await api(client, "POST", f"{account}/conversations", admin.token, inbox_id=inbox["id"], contact_id=contact["id"])
    return f"{account}/conversations/{conversation['id']}"


async def say(client: httpx.AsyncClient, member: Member, conversation_url: str, content: str, **extra: Any) -> None:
    await api(client, "POST", f"{conversation_url}/messages", member.token, content=content, **extra)


def contents(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["content"] for e in events if e["event"] == EventName.MESSAGE_CREATED]


async def test_agents_hear_their_inboxes_admins_the_account_and_no_one_another_account(live_runtime: Runtime) -> None:
    admin = await make_member(live_runtime)
    agent = await make_member(live_runtime, admin.account, role=Role.agent)
    stranger = await make_member(live_runtime)  # administrator of another account
    async with serve(live_runtime) as server, httpx.AsyncClient(base_url=server.http) as client:
        mine, other = await make_inbox(client, admin, "Mine"), await make_inbox(client, admin, "Other")
        await api(client, "POST", f"/api/v1/accounts/{admin.account.id}/inbox_members", admin.token,
                  inbox_id=mine["id"], user_ids=[agent.user.id])
        elsewhere = await make_inbox(client, stranger, "Elsewhere")
        # The three ways to present a token: query parameter, api_access_token header, Bearer.
        async with (
            connect(agent_url(server, agent)) as agent_ws,
            connect(agent_url(server, admin, token=None), additional_headers=admin.headers) as admin_ws,
            connect(agent_url(server, stranger, token=None),
                    additional_headers={"Authorization": f"Bearer {stranger.token}"}) as stranger_ws,
        ):
            for websocket in (agent_ws, admin_ws, stranger_ws):
                await drain_presence(websocket)
            await say(client, admin, await open_conversation(client, admin, mine), "in mine")
            await say(client, admin, await open_conversation(client, admin, other), "in other")
            await say(client, stranger, await open_conversation(client, stranger, elsewhere), "elsewhere")

            agent_events = await events_until_marker(agent_ws, user_channel(agent.user.id))
            admin_events = await events_until_marker(admin_ws, user_channel(admin.user.id))
            stranger_events = await events_until_marker(stranger_ws, user_channel(stranger.user.id))

    assert contents(agent_events) == ["in mine"]
    assert {e["data"]["inbox_id"] for e in agent_events if "inbox_id" in e["data"]} <= {mine["id"]}
    conversation_events = [e["event"] for e in agent_events if not e["event"].startswith("contact.")]
    assert conversation_events == [EventName.CONVERSATION_CREATED, EventName.MESSAGE_CREATED]
    # Contacts are account-wide: every member hears about them, never another account's.
    assert {e["event"] for e in agent_events if e["event"].startswith("contact.")} == {EventName.CONTACT_CREATED}
    assert not [e for e in stranger_events if e["data"].get("account_id") != stranger.account.id]
    assert contents(admin_events) == ["in mine", "in other"]
    assert contents(stranger_events) == ["elsewhere"]
    assert all(e["data"]["account_id"] == stranger.account.id for e in stranger_events)


async def test_refusals_close_with_documented_codes(live_runtime: Runtime) -> None:
    member = await make_member(live_runtime)
    outsider = await make_member(live_runtime)
    scoped = await make_member(live_runtime, member.account, scopes=["contacts:read"])
    async with serve(live_runtime) as server:
        cases = {
            f"{server.ws}/ws?account_id={member.account.id}": CloseCode.UNAUTHENTICATED,
            agent_url(server, member, token="nexa_bogus"): CloseCode.UNAUTHENTICATED,
            agent_url(server, member, token="a.b.c"): CloseCode.UNAUTHENTICATED,
            agent_url(server, outsider, account_id=member.account.id): CloseCode.FORBIDDEN,
            agent_url(server, member, account_id=999_999): CloseCode.FORBIDDEN,
            agent_url(server, scoped): CloseCode.FORBIDDEN,
            agent_url(server, member, account_id="x"): CloseCode.BAD_REQUEST,
            f"{server.ws}/ws/widget?pubsub_token=unknown": CloseCode.UNAUTHENTICATED,
            f"{server.ws}/ws/widget": CloseCode.UNAUTHENTICATED,
        }
        for url, expected in cases.items():
            async with connect(url) as websocket:
                assert await close_code(websocket) == expected, url


async def test_browser_session_cookie_works_from_our_origin_only(live_runtime: Runtime) -> None:
    member = await make_member(live_runtime)
    async with serve(live_runtime) as server, httpx.AsyncClient(base_url=server.http) as client:
        login = await client.post("/api/v1/auth/session", json={"email": member.user.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookie = f"{live_runtime.settings.session_cookie_name}={login.cookies[live_runtime.settings.session_cookie_name]}"
        url = f"{server.ws}/ws?account_id={member.account.id}"
        async with connect(url, additional_headers={"Cookie": cookie}, origin=server.http) as websocket:
            await drain_presence(websocket)
            await websocket.send(json.dumps({"type": "ping"}))
            assert await next_frame(websocket) == {"type": "pong"}
        async with connect(url, additional_headers={"Cookie": cookie}, origin="https://evil.example") as websocket:
            assert await close_code(websocket) == CloseCode.UNAUTHENTICATED


async def test_widget_visitor_hears_only_public_messages_of_their_own_conversation(live_runtime: Runtime) -> None:
    admin = await make_member(live_runtime)
    async with serve(live_runtime) as server, httpx.AsyncClient(base_url=server.http) as client:
        inbox = await make_inbox(client, admin, "Site")
        theirs = await open_conversation(client, admin, inbox, "Ana")
        someone_elses = await open_conversation(client, admin, inbox, "Bia")
        async with live_runtime.db.session() as session:
            conversation_id = int(theirs.rsplit("/", 1)[1])
            conversation = await session.scalar(
                select(Conversation).where(Conversation.account_id == admin.account.id, Conversation.display_id == conversation_id)
            )
            assert conversation is not None
            token = (await session.get(ContactInbox, conversation.contact_inbox_id)).pubsub_token  # type: ignore[union-attr]

        async with connect(f"{server.ws}/ws/widget?pubsub_token={token}") as visitor:
            # The handshake completes before the socket signs in and subscribes; a pong means it has.
            await visitor.send(json.dumps({"type": "ping"}))
            assert await next_frame(visitor) == {"type": "pong"}
            await say(client, admin, theirs, "hello", message_type="incoming")
            await say(client, admin, theirs, "VIP, discount ok", private=True)
            await say(client, admin, theirs, "Olá, Ana!")
            await say(client, admin, someone_elses, "Olá, Bia!")
            await api(client, "POST", f"{theirs}/toggle_status", admin.token, status="resolved")  # an activity line, if any
            events = await events_until_marker(visitor, contact_channel(conversation.contact_inbox_id))

            # Frames a visitor may send: a heartbeat; anything else gets an error frame and the socket stays.
            await visitor.send(json.dumps({"type": "presence", "availability": "online"}))
            assert (await next_frame(visitor))["type"] == "error"
            await visitor.send(json.dumps({"type": "ping"}))
            assert await next_frame(visitor) == {"type": "pong"}

    assert contents(events) == ["hello", "Olá, Ana!"]
    assert all(not e["data"].get("private") and e["data"].get("message_type") != 2 for e in events)


async def test_malformed_frames_get_error_frames_and_oversized_ones_close(live_runtime: Runtime) -> None:
    member = await make_member(live_runtime)
    async with serve(live_runtime) as server, connect(agent_url(server, member)) as websocket:
        await drain_presence(websocket)
        for bad in ("not json", "[]", '{"type": "dance"}', '{"type": "presence", "availability": "asleep"}', b"\x00"):
            await websocket.send(bad)
            assert (await next_frame(websocket))["type"] == "error"
        await websocket.send(json.dumps({"type": "ping"}))
        assert await next_frame(websocket) == {"type": "pong"}
        await websocket.send("x" * (MAX_CLIENT_FRAME_BYTES + 1))
        assert await close_code(websocket) == CloseCode.MESSAGE_TOO_BIG


async def read_until_closed(websocket: ClientConnection) -> tuple[list[int], int | None]:
    """The `n` of every event frame left to read, then the close code."""
    numbers = []
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = json.loads(await websocket.recv())
                if frame.get("event") == EventName.ACCOUNT_CACHE_INVALIDATED:
                    numbers.append(frame["data"]["n"])
    return numbers, websocket.close_code


def padded(member: Member, n: int, size: int) -> Event:
    # Random, so that permessage-deflate (on in the test server) cannot shrink it.
    padding = secrets.token_urlsafe(size)[:size]
    return Event(EventName.ACCOUNT_CACHE_INVALIDATED, {"n": n, "padding": padding}, account_id=member.account.id,
                 channels=[account_channel(member.account.id)])


async def test_a_client_that_stops_reading_is_closed_as_lagging_after_every_event_before(live_runtime: Runtime) -> None:
    if live_runtime.redis is not None:
        pytest.skip("publishing until the queue overflows needs the synchronous memory bus")
    member = await make_member(live_runtime)
    dropped_before = sample("nexa_realtime_events_dropped_total", reason="slow_client")
    # max_queue=1: the client library stops reading the socket, so the kernel's buffers fill, then the server's
    # writes wait and events queue up behind them until the queue overflows.
    async with serve(live_runtime) as server, connect(agent_url(server, member), max_queue=1) as websocket:
        await drain_presence(websocket)
        published = 0
        while sample("nexa_realtime_events_dropped_total", reason="slow_client") == dropped_before:
            assert published < 5000, "the queue never overflowed"
            await publish_now(padded(member, published, 64 * 1024))
            published += 1
            await asyncio.sleep(0)  # the socket writes what it can
        numbers, code = await read_until_closed(websocket)
    # Every event up to the overflow, in order, none skipped; then told to resync.
    assert numbers == list(range(len(numbers)))
    assert 0 < len(numbers) < published
    assert code == CloseCode.RESYNC


async def test_a_stalled_client_is_closed_after_the_send_timeout(live_runtime: Runtime,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if live_runtime.redis is not None:
        pytest.skip("the synchronous memory bus keeps the count of queued events exact")
    monkeypatch.setattr(ws, "SEND_TIMEOUT_SECONDS", 0.5)
    member = await make_member(live_runtime)
    dropped_before = sample("nexa_realtime_events_dropped_total", reason="slow_client")
    async with serve(live_runtime) as server, connect(agent_url(server, member), max_queue=1) as websocket:
        await drain_presence(websocket)
        # 32 MB, more than loopback's socket buffers hold, in fewer events than the queue holds: a write waits.
        events = live_runtime.settings.realtime_client_queue_size - 1
        connected = sample("nexa_realtime_connected_clients")
        for n in range(events):
            await publish_now(padded(member, n, 32 * 1024 * 1024 // events))
        async with asyncio.timeout(TIMEOUT):  # still not reading until the server gave up on the socket
            while sample("nexa_realtime_connected_clients") == connected:
                await asyncio.sleep(0.05)
        numbers, code = await read_until_closed(websocket)
    assert sample("nexa_realtime_events_dropped_total", reason="slow_client") == dropped_before  # not lagging
    assert numbers == list(range(len(numbers))) and len(numbers) < events
    assert code == CloseCode.RESYNC


async def test_server_shutdown_tells_clients_to_reconnect(live_runtime: Runtime) -> None:
    member = await make_member(live_runtime)
    async with serve(live_runtime) as server:
        websocket = await connect(agent_url(server, member))
        await drain_presence(websocket)
    # uvicorn closes open sockets with 1012 (service restart) before the hub stops; either way, the same code.
    assert await close_code(websocket) == CloseCode.SERVICE_RESTART
