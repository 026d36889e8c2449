"""Presence: a socket's heartbeat keeps an agent present for a TTL; what others see follows Chatwoot's rule."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from nexa.auth import service as auth_service
from nexa.auth.models import Availability, Role
from nexa.auth.serializers import effective_availability
from nexa.config import Settings
from nexa.db.engine import Database
from nexa.realtime import EventName
from nexa.realtime.presence import MemoryPresence, online_agent_ids, present_user_ids, presence_store
from nexa.runtime import Runtime
from tests.factories import make_member
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
    live_runtime.settings = live_runtime.settings.model_copy(update={"presence_ttl_seconds": 1.0})
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
            for _ in range(3):
                await asyncio.sleep(0.5)
                await agent_ws.send(json.dumps({"type": "ping"}))
                assert await next_frame(agent_ws) == {"type": "pong"}
            assert agent.user.id in await online_agent_ids(live_runtime, account_id)
            # ...and without them the agent drops out, though the socket is still open.
            await asyncio.sleep(1.3)
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
