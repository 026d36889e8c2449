"""Fan-out: a slow client is cut off without holding anyone else back."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from nexa.realtime import CloseReason, Event, EventName, Hub, MemoryBus, account_channel, publish_now
from tests.realtime.conftest import CLIENT_QUEUE_SIZE, next_event


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def message(n: int) -> Event:
    return Event(EventName.MESSAGE_CREATED, {"id": n}, account_id=1, channels=[account_channel(1)])


async def test_a_slow_client_is_disconnected_to_resync_while_a_fast_one_gets_everything(hub: Hub) -> None:
    total = CLIENT_QUEUE_SIZE * 4
    dropped_before = sample("nexa_realtime_events_dropped_total", reason="slow_client")
    connected_before = sample("nexa_realtime_connected_clients")
    fast = hub.connect([account_channel(1)])
    slow = hub.connect([account_channel(1)])
    assert sample("nexa_realtime_connected_clients") == connected_before + 2

    received = []
    for n in range(total):
        await publish_now(message(n))
        # A client that keeps up: it has each event before the next is published (on a loaded machine, a
        # reader merely running alongside can fall a queue's length behind a Redis burst and lag too).
        received.append((await next_event(fast)).data["id"])

    assert received == list(range(total))
    # The slow client's queue was dropped when it overflowed: it must refetch, not read stale events.
    assert [event async for event in slow] == []
    assert slow.close_reason == CloseReason.LAGGING
    dropped = sample("nexa_realtime_events_dropped_total", reason="slow_client") - dropped_before
    assert dropped == CLIENT_QUEUE_SIZE + 1
    fast.close()
    assert sample("nexa_realtime_connected_clients") == connected_before


async def test_stopping_the_hub_ends_every_subscription() -> None:
    hub = Hub(MemoryBus(), queue_size=4)
    await hub.start()
    subscription = hub.connect([account_channel(1)])
    await hub.publish(message(1))
    await hub.stop()
    # Queued events are discarded too: the client reconnects (to a live process) and resyncs.
    assert [event async for event in subscription] == []
    assert subscription.close_reason == CloseReason.SHUTDOWN


async def test_a_client_waiting_for_events_wakes_when_it_closes() -> None:
    hub = Hub(MemoryBus())
    await hub.start()
    subscription = hub.connect([account_channel(1)])
    waiting = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    subscription.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 1)
    assert subscription.close_reason == CloseReason.CLOSED
    await hub.stop()


async def test_a_pushed_subscription_is_drained_at_once_and_what_it_leaves_counts_towards_the_bound() -> None:
    hub = Hub(MemoryBus(), queue_size=2)
    await hub.start()
    subscription = hub.connect([account_channel(1)])
    await hub.publish(message(0))  # queued before a consumer drains it
    taken: list[int] = []
    taking = True
    closes: list[CloseReason | None] = []

    def drain() -> None:
        while taking and (event := subscription.take()) is not None:
            taken.append(event.data["id"])
        closes.append(subscription.close_reason)

    subscription.drain_with(drain)
    assert taken == [0]  # what was queued is drained on registering
    await hub.publish(message(1))
    assert taken == [0, 1]  # synchronously, inside the fan-out
    taking = False  # the consumer stops taking (a socket whose write waits): events stay queued, in order
    await hub.publish(message(2))
    await hub.publish(message(3))
    taking = True
    drain()
    assert taken == [0, 1, 2, 3]
    taking = False
    for n in range(4, 7):  # the third event finds the queue of 2 full
        await hub.publish(message(n))
    assert subscription.close_reason == CloseReason.LAGGING
    assert closes[-1] == CloseReason.LAGGING  # the consumer is told at once
    assert subscription.take() is None  # its queue was dropped: resync, never a gap
    await hub.stop()
