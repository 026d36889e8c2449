"""Signing agent sockets in cheaply: cached sign-ins that revocation ends at once, batched token touches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta

import httpx
from sqlalchemy import event, select, update
from websockets.asyncio.client import connect

from nexa.auth import service as auth_service
from nexa.auth.models import AccessToken
from nexa.auth.touches import TokenTouches
from nexa.db.engine import Database
from nexa.kit.clock import utcnow
from nexa.realtime import Event, EventName, Hub, RedisBus
from nexa.realtime.events import revocations_channel, user_channel
from nexa.realtime.peers import Peer, PeerCache
from nexa.realtime.ws import CloseCode
from nexa.runtime import Runtime
from tests.factories import PASSWORD, make_member
from tests.realtime._server import close_code, serve
from tests.realtime.conftest import unique_prefix
from tests.realtime.test_ws import agent_url, drain_presence


@contextlib.contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements `db` runs inside the block."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_a_reconnect_reads_nothing_and_a_revoked_token_is_refused_at_once(live_runtime: Runtime) -> None:
    admin = await make_member(live_runtime)
    agent = await make_member(live_runtime, admin.account, scopes=["conversations:read"])
    async with serve(live_runtime) as server:
        async with connect(agent_url(server, agent)) as websocket:
            await drain_presence(websocket)
        await asyncio.sleep(0.4)  # the first connect's presence window closes
        with statements(live_runtime.db) as seen:
            async with connect(agent_url(server, agent)) as websocket:
                await drain_presence(websocket)
        # The second tab's presence map still reads availability; signing in read nothing.
        assert not [s for s in seen if "access_tokens" in s or "FROM users" in s], seen

        async with live_runtime.db.session() as session:
            token = await auth_service.find_api_token(session, agent.token)
            assert token is not None
            await auth_service.revoke_api_token(session, token, actor_user_id=admin.user.id)
        # Within the cache's lifetime, yet refused: the revocation reached the cache on commit.
        async with connect(agent_url(server, agent)) as websocket:
            assert await close_code(websocket) == CloseCode.UNAUTHENTICATED


async def test_a_logged_out_browser_session_cannot_open_a_socket(live_runtime: Runtime) -> None:
    member = await make_member(live_runtime)
    async with serve(live_runtime) as server, httpx.AsyncClient(base_url=server.http) as client:
        login = await client.post("/api/v1/auth/session", json={"email": member.user.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        name = live_runtime.settings.session_cookie_name
        headers = {"Cookie": f"{name}={login.cookies[name]}"}
        url = f"{server.ws}/ws?account_id={member.account.id}"
        async with connect(url, additional_headers=headers, origin=server.http) as websocket:
            await drain_presence(websocket)
        # A cached sign-in does not skip the Origin check.
        async with connect(url, additional_headers=headers, origin="https://evil.example") as websocket:
            assert await close_code(websocket) == CloseCode.UNAUTHENTICATED
        logout = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]})
        assert logout.status_code == 204, logout.text
        async with connect(url, additional_headers=headers, origin=server.http) as websocket:
            assert await close_code(websocket) == CloseCode.UNAUTHENTICATED


async def test_a_revocation_in_another_process_reaches_this_process_cache(redis_url: str) -> None:
    prefix = unique_prefix()
    here, there = Hub(RedisBus(redis_url, prefix=prefix)), Hub(RedisBus(redis_url, prefix=prefix))
    await here.start()
    await there.start()
    try:
        cache = PeerCache(here)
        here.listen(revocations_channel(), cache)
        peer = Peer(channels=frozenset({user_channel(7)}), account_id=1, user_id=7)
        other = Peer(channels=frozenset({user_channel(8)}), account_id=1, user_id=8)
        key, other_key = cache.key("nexa_token-of-7", 1), cache.key("nexa_token-of-8", 1)
        cache.put(key, peer, generation=cache.generation, expires_at=None)
        cache.put(other_key, other, generation=cache.generation, expires_at=None)
        stale_generation = cache.generation

        await there.publish(Event(EventName.CREDENTIALS_REVOKED, {"user_id": 7}, account_id=0,
                                  channels=[revocations_channel()]))
        async with asyncio.timeout(5):
            while cache.get(key) is not None:
                await asyncio.sleep(0.01)
        assert cache.get(other_key) == other  # only that user's sign-ins are forgotten
        # A sign-in read before the revocation arrived is not stored after it.
        cache.put(key, peer, generation=stale_generation, expires_at=None)
        assert cache.get(key) is None
        # Nor does an entry outlive its credential; and a bus gap forgets everything (a notice may be lost).
        cache.put(key, peer, generation=cache.generation, expires_at=utcnow() - timedelta(seconds=1))
        assert cache.get(key) is None
        here._resync()
        assert cache.get(other_key) is None
    finally:
        await here.stop()
        await there.stop()


async def test_token_touches_are_debounced_and_batched(runtime: Runtime) -> None:
    members = [await make_member(runtime) for _ in range(3)]
    async with runtime.db.session() as session:
        ids = list(await session.scalars(select(AccessToken.id).where(
            AccessToken.owner_id.in_([m.user.id for m in members]), AccessToken.revoked_at.is_(None))))
        await session.execute(update(AccessToken).where(AccessToken.id.in_(ids)).values(last_used_at=None))
    touches = TokenTouches(runtime.db)
    with statements(runtime.db) as seen:
        await asyncio.gather(*(touches.touch(token_id) for token_id in ids * 10))
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    # 30 concurrent uses of 3 tokens: the first writes its own, the rest ride on at most one more statement.
    assert touches.statements <= 2 and len(updates) == touches.statements
    async with runtime.db.session(write=False) as session:
        used = list(await session.scalars(select(AccessToken.last_used_at).where(AccessToken.id.in_(ids))))
    assert all(at is not None for at in used)
    # Within the precision window, another use writes nothing.
    await asyncio.gather(*(touches.touch(token_id) for token_id in ids))
    assert touches.statements == len(updates)
    # The database's own value decides first, so a fresh process does not write either.
    async with runtime.db.session(write=False) as session:
        token = await session.get(AccessToken, ids[0])
        assert token is not None and not auth_service.should_touch(token)

