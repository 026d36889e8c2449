"""The realtime WebSockets against a real uvicorn server: who hears what, who is refused, and how sockets end."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from nexa.auth.models import Role
from nexa.contacts.models import ContactInbox
from nexa.conversations.models import Conversation
from nexa.realtime import Event, EventName, account_channel, contact_channel, publish_now, user_channel
from nexa.realtime.ws import MAX_CLIENT_FRAME_BYTES, CloseCode
from nexa.runtime import Runtime
from tests.factories import PASSWORD, Member, make_member
from tests.realtime._server import Server, api, close_code, events_until_marker, next_frame, serve


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


async def test_a_lagging_client_is_closed_with_the_resync_code(live_runtime: Runtime) -> None:
    if live_runtime.redis is not None:
        pytest.skip("overflowing the queue deterministically needs the synchronous memory bus")
    member = await make_member(live_runtime)
    async with serve(live_runtime) as server, connect(agent_url(server, member)) as websocket:
        await drain_presence(websocket)
        # Published without yielding, faster than any socket drains: the subscription's queue overflows.
        for n in range(live_runtime.settings.realtime_client_queue_size + 1):
            await publish_now(Event(EventName.ACCOUNT_CACHE_INVALIDATED, {"n": n}, account_id=member.account.id,
                                    channels=[account_channel(member.account.id)]))
        assert await close_code(websocket) == CloseCode.RESYNC


async def test_server_shutdown_tells_clients_to_reconnect(live_runtime: Runtime) -> None:
    member = await make_member(live_runtime)
    async with serve(live_runtime) as server:
        websocket = await connect(agent_url(server, member))
        await drain_presence(websocket)
    # uvicorn closes open sockets with 1012 (service restart) before the hub stops; either way, the same code.
    assert await close_code(websocket) == CloseCode.SERVICE_RESTART
