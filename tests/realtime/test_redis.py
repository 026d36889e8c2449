"""Redis: events cross processes, and Redis being down never reaches the code that publishes."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from nexa.realtime import CloseReason, Event, EventName, Hub, RedisBus, Subscription, account_channel
from tests.realtime.conftest import next_event, unique_prefix

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dropped_for_bus() -> float:
    value = REGISTRY.get_sample_value("nexa_realtime_events_dropped_total", {"reason": "bus_unavailable"})
    return value or 0.0


def message(content: str) -> Event:
    return Event(EventName.MESSAGE_CREATED, {"content": content}, account_id=1, channels=[account_channel(1)])


@pytest.mark.slow
async def test_an_event_published_in_another_process_reaches_this_one(redis_url: str) -> None:
    prefix = unique_prefix()
    hub = Hub(RedisBus(redis_url, prefix=prefix))
    await hub.start()
    try:
        async with hub.connect([account_channel(1)]) as agent:
            publisher = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.realtime._publisher", redis_url, prefix, cwd=REPO
            )
            assert await asyncio.wait_for(publisher.wait(), 30) == 0
            event = await next_event(agent)
            assert (event.name, event.account_id, event.data["content"]) == (
                EventName.MESSAGE_CREATED, 1, "para a conta 1"
            )
            # The account 2 event went out first; the marker, published after the process exited, comes next.
            await hub.publish(message("marker"))
            assert (await next_event(agent)).data["content"] == "marker"
    finally:
        await hub.stop()


async def test_publishing_while_redis_is_down_neither_raises_nor_waits() -> None:
    hub = Hub(RedisBus(f"redis://127.0.0.1:{free_port()}/0", prefix=unique_prefix()))
    started = time.monotonic()
    await hub.start()  # carries on; the subscriber keeps retrying in the background
    assert time.monotonic() - started < 5
    dropped_before = dropped_for_bus()
    started = time.monotonic()
    for n in range(2000):
        await hub.publish(message(str(n)))
    assert time.monotonic() - started < 0.5
    # The outbox holds a bounded amount; the rest is counted, not queued without limit.
    assert dropped_for_bus() - dropped_before >= 1000
    await hub.stop()


@contextlib.asynccontextmanager
async def redis_server(port: int) -> AsyncIterator[None]:
    server = await asyncio.create_subprocess_exec(
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL,
    )
    client = Redis(port=port)
    try:
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(OSError, ConnectionError):
                    if await client.ping():
                        break
                await asyncio.sleep(0.05)
        yield
    finally:
        await client.aclose()
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)


async def until_received(publisher: RedisBus, subscription: Subscription) -> Event:
    """Publish probes until one arrives: pub/sub keeps nothing for a subscriber that is still reconnecting."""
    async with asyncio.timeout(20):
        while True:
            await publisher.publish(message("probe"))
            with contextlib.suppress(TimeoutError):
                return await next_event(subscription, timeout=0.2)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_subscribers_are_told_to_resync_and_events_flow_again_when_redis_comes_back() -> None:
    port, prefix = free_port(), unique_prefix()
    url = f"redis://127.0.0.1:{port}/0"
    hub, publisher = Hub(RedisBus(url, prefix=prefix)), RedisBus(url, prefix=prefix)
    reconnects_before = REGISTRY.get_sample_value("nexa_realtime_bus_reconnects_total") or 0.0
    try:
        async with redis_server(port):
            await hub.start()
            before = hub.connect([account_channel(1)])
            assert (await until_received(publisher, before)).data["content"] == "probe"

        await publisher.publish(message("during the outage"))  # buffered or dropped, never raised

        async with redis_server(port):
            # Whatever it still receives, a client that lived through the outage ends with a resync.
            async with asyncio.timeout(20):
                _ = [event async for event in before]
            assert before.close_reason == CloseReason.RESYNC
            assert REGISTRY.get_sample_value("nexa_realtime_bus_reconnects_total") == reconnects_before + 1
            after = hub.connect([account_channel(1)])
            assert (await until_received(publisher, after)).account_id == 1
            after.close()
    finally:
        await hub.stop()
        await publisher.close()
