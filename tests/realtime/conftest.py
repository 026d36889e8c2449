from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from nexa.config import Settings
from nexa.db.engine import Database
from nexa.realtime import Event, EventName, Hub, MemoryBus, RedisBus, Subscription, publish_now, set_hub
from nexa.runtime import Runtime

CLIENT_QUEUE_SIZE = 8


def unique_prefix() -> str:
    """A Redis channel prefix no other test (or concurrent test run) uses."""
    return f"nexa-test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", "redis"])
async def hub(request: pytest.FixtureRequest) -> AsyncIterator[Hub]:
    """The process hub, installed like the app does it, on the memory bus and on Redis."""
    if request.param == "redis":
        bus: MemoryBus | RedisBus = RedisBus(request.getfixturevalue("redis_url"), prefix=unique_prefix())
    else:
        bus = MemoryBus()
    hub = Hub(bus, queue_size=CLIENT_QUEUE_SIZE)
    await hub.start()
    set_hub(hub)
    yield hub
    set_hub(None)
    await hub.stop()


async def next_event(subscription: Subscription, timeout: float = 5.0) -> Event:
    return await asyncio.wait_for(anext(subscription), timeout)


async def received(*subscriptions: Subscription) -> list[list[Event]]:
    """What each subscription got so far, in order: publishes a marker to all of them and reads up to it.

    Deterministic on both buses, unlike waiting a while and checking that nothing came.
    """
    channels = frozenset().union(*(s.channels for s in subscriptions))
    marker = Event(EventName.ACCOUNT_CACHE_INVALIDATED, {"marker": True}, account_id=0, channels=channels)
    await publish_now(marker)
    result = []
    for subscription in subscriptions:
        events = []
        while not (event := await next_event(subscription)).data.get("marker"):
            events.append(event)
        result.append(events)
    return result


@pytest.fixture(params=["memory", "redis"])
async def live_runtime(request: pytest.FixtureRequest, db: Database, settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime for a real server: memory bus and presence, or Redis (under a unique prefix) for both."""
    if request.param == "redis":
        settings = settings.model_copy(
            update={"redis_url": request.getfixturevalue("redis_url"), "realtime_prefix": unique_prefix()}
        )
    runtime = Runtime.build(settings, db=db)
    yield runtime
    if runtime.redis is not None:
        await runtime.redis.aclose()
