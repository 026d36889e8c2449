"""Presence: a socket's heartbeat keeps an agent present for a TTL; what others see follows Chatwoot's rule."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from sqlalchemy import delete, func, select
from websockets.asyncio.client import ClientConnection, connect

from nexa.auth import service as auth_service
from nexa.auth.models import Availability, Role
from nexa.auth.serializers import effective_availability
from nexa.auth.service import ASSIGN_QUEUE_JOB
from nexa.config import Settings
from nexa.db.engine import Database
from nexa.jobs.models import Job
from nexa.realtime import EventName
from nexa.realtime.presence import MemoryPresence, online_agent_ids, presence_store, present_user_ids
from nexa.runtime import Runtime
from tests.factories import Member, make_member
from tests.realtime._server import next_frame, serve
from tests.realtime.conftest import unique_prefix
from tests.realtime.test_ws import agent_url, drain_presence


@pytest.mark.parametrize(
    ("availability", "auto_offline", "present", "shown"),
    [
        (Availability.online, True, True, Availability.online),
        (Availability.busy, True, True, Availability.busy),
        (Availability.online, True, False, Availability.offline),
        (Availability.online, False, False, Availability.online),
        (Availability.offline, False, True, Availability.offline),
    ],
)
def test_effective_availability(availability: Availability, auto_offline: bool, present: bool, shown: Availability) -> None:
    assert effective_availability(availability, auto_offline=auto_offline, present=present) == shown


async def test_memory_presence_expires_after_the_ttl() -> None:
    store = MemoryPresence(ttl=0.2)
    assert await store.touch(1, 7) is True
    assert await store.touch(1, 7) is False
    assert await store.present(1) == {7} and await store.present(2) == set()
    await asyncio.sleep(0.3)
    assert await store.present(1) == set()
    assert await store.touch(1, 7) is True


async def test_setting_availability_on_the_socket_broadcasts_and_drops_out_without_heartbeat(live_runtime: Runtime) -> None:
    # Two seconds: heartbeats half a second apart keep the agent present even when a loaded test machine
    # delays one by a second (with 1 s, the presence lapsed and came back, one presence.update too many).
    live_runtime.settings = live_runtime.settings.model_copy(update={"presence_ttl_seconds": 2.0})
    admin = await make_member(live_runtime)
    agent = await make_member(live_runtime, admin.account, role=Role.agent)
    account_id = admin.account.id
    async with serve(live_runtime) as server, connect(agent_url(server, admin)) as admin_ws:
        await drain_presence(admin_ws)
        async with connect(agent_url(server, agent)) as agent_ws:
            # The agent's arrival is announced; they are stored offline, so the map does not list them yet.
            assert (await next_frame(admin_ws))["event"] == EventName.PRESENCE_UPDATE
            await drain_presence(agent_ws)
            await agent_ws.send(json.dumps({"type": "presence", "availability": "online"}))
            for websocket in (admin_ws, agent_ws):
                update = await next_frame(websocket)
                assert update["event"] == EventName.PRESENCE_UPDATE
                assert update["data"]["account_id"] == account_id
                assert update["data"]["users"][str(agent.user.id)] == "online"
            assert agent.user.id in await online_agent_ids(live_runtime, account_id)

            # Heartbeats keep the agent present past the TTL...
            for _ in range(5):
                await asyncio.sleep(0.5)
                await agent_ws.send(json.dumps({"type": "ping"}))
                assert await next_frame(agent_ws) == {"type": "pong"}
            assert agent.user.id in await online_agent_ids(live_runtime, account_id)
            # ...and without them the agent drops out, though the socket is still open.
            await asyncio.sleep(2.3)
            assert agent.user.id not in await online_agent_ids(live_runtime, account_id)
            assert agent.user.id not in await present_user_ids(live_runtime, account_id)

    async with live_runtime.db.session() as session:
        membership = await auth_service.set_availability(session, agent.user.id, account_id, Availability.busy)
        assert membership.availability == Availability.busy  # what the socket stored is the same column


async def test_redis_presence_is_shared_by_two_runtimes(db: Database, settings: Settings, redis_url: str) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url, "realtime_prefix": unique_prefix()})
    first, second = Runtime.build(shared, db=db), Runtime.build(shared, db=db)
    try:
        member = await make_member(first)
        async with first.db.session() as session:
            await auth_service.set_availability(session, member.user.id, member.account.id, Availability.online)
        assert await online_agent_ids(second, member.account.id) == set()
        assert await presence_store(first).touch(member.account.id, member.user.id) is True
        assert await presence_store(second).touch(member.account.id, member.user.id) is False
        assert await online_agent_ids(second, member.account.id) == {member.user.id}
    finally:
        for runtime in (first, second):
            assert runtime.redis is not None
            await runtime.redis.aclose()


async def _online(runtime: Runtime, member: Member) -> None:
    async with runtime.db.session() as session:
        await auth_service.set_availability(session, member.user.id, member.account.id, Availability.online)


async def _assignment_jobs(runtime: Runtime, *, clear: bool = False) -> int:
    """Queue-assignment jobs waiting; `clear` deletes them afterwards (as if the worker had run them)."""
    async with runtime.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == ASSIGN_QUEUE_JOB))
        if clear:
            await session.execute(delete(Job).where(Job.kind == ASSIGN_QUEUE_JOB))
    return count or 0


async def _presence_frames(websocket: ClientConnection, quiet: float = 0.8) -> list[dict[str, str]]:
    """The presence maps a socket gets until it has heard nothing for `quiet` seconds."""
    maps = []
    with contextlib.suppress(TimeoutError):
        while True:
            frame = await next_frame(websocket, timeout=quiet)
            if frame["event"] == EventName.PRESENCE_UPDATE:
                maps.append(frame["data"]["users"])
    return maps


async def test_many_agents_connecting_together_are_announced_in_a_few_broadcasts(live_runtime: Runtime) -> None:
    admin = await make_member(live_runtime)
    agents = [await make_member(live_runtime, admin.account, role=Role.agent) for _ in range(12)]
    for agent in agents:
        await _online(live_runtime, agent)
    async with serve(live_runtime) as server, connect(agent_url(server, admin)) as watcher:
        await drain_presence(watcher)
        async with contextlib.AsyncExitStack() as stack:
            sockets = await asyncio.gather(*(stack.enter_async_context(connect(agent_url(server, a))) for a in agents))
            maps = await _presence_frames(watcher)
            # One broadcast per agent would be 12 here (and 12 x 13 frames in all); coalesced: a few.
            assert 1 <= len(maps) <= 4, maps
            assert set(maps[-1]) == {str(a.user.id) for a in agents}
            for websocket in sockets:  # and every new socket was sent the map
                assert (await _presence_frames(websocket, quiet=0.1))[-1] == maps[-1]


async def test_only_an_agent_coming_online_enqueues_queue_assignment(live_runtime: Runtime) -> None:
    admin = await make_member(live_runtime)
    agent = await make_member(live_runtime, admin.account, role=Role.agent)
    await _online(live_runtime, agent)
    await _assignment_jobs(live_runtime, clear=True)
    # An admin who is offline connecting: present, but no one new to assign to.
    async with serve(live_runtime) as server, connect(agent_url(server, admin)) as admin_ws:
        await drain_presence(admin_ws)
        await asyncio.sleep(0.4)
        assert await _assignment_jobs(live_runtime) == 0
        # The online agent arrives: one job. Extra tabs, now or later, add none.
        async with connect(agent_url(server, agent)) as first, connect(agent_url(server, agent)) as second:
            await drain_presence(first)
            await drain_presence(second)
            await asyncio.sleep(0.4)
            assert await _assignment_jobs(live_runtime, clear=True) == 1
            async with connect(agent_url(server, agent)) as third:
                update = await next_frame(third)  # a second tab still gets the map, on its own channel
                assert update["data"]["users"] == {str(agent.user.id): "online"}
                await asyncio.sleep(0.4)
                assert await _assignment_jobs(live_runtime) == 0
                assert await _presence_frames(admin_ws, quiet=0.3) == [{str(agent.user.id): "online"}]
