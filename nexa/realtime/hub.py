"""The hub: one per process, subscribed to the bus once, fanning events out to connected clients.

Each client (one WebSocket) gets a `Subscription`: a fixed set of channels and a bounded queue.
Fan-out never waits on a client. When a client's queue is full it is lagging: the hub drops its queue,
closes it with `CloseReason.LAGGING` and forgets it; the WebSocket handler then closes the socket and
the client reconnects and refetches state. Events a client missed are never silently skipped: it is
either sent every event for its channels, in order, or told to resync.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.engine import after_commit
from nexa.observability.prometheus import child
from nexa.realtime._metrics import CONNECTED_CLIENTS, EVENTS_DELIVERED, EVENTS_DROPPED, EVENTS_PUBLISHED
from nexa.realtime.bus import Bus
from nexa.realtime.events import Event

logger = logging.getLogger(__name__)


class CloseReason(enum.StrEnum):
    CLOSED = "closed"  # the client left (`close()` or the end of `async with`)
    LAGGING = "lagging"  # its queue overflowed: resync
    RESYNC = "resync"  # the bus had a gap (Redis reconnect): events may be missing, resync
    SHUTDOWN = "shutdown"  # the hub stopped: reconnect, probably to another process


class Listener(Protocol):
    """An in-process consumer of an internal channel (`Hub.listen`)."""

    def heard(self, event: Event) -> None: ...

    def gap(self) -> None:
        """The bus lost messages (Redis reconnected): anything derived from them may be stale."""
        ...


class Subscription:
    """A client's view of the hub: `async with hub.connect(channels) as sub: async for event in sub: ...`.

    Iteration ends when the subscription is closed, for the reason in `close_reason`. A consumer that can
    usually take an event on the spot may be pushed to instead (`drain_with`). Not thread-safe: use it from
    the event loop the hub runs on.
    """

    def __init__(self, hub: Hub, channels: frozenset[str], queue_size: int) -> None:
        self.channels = channels
        self.close_reason: CloseReason | None = None
        self._hub = hub
        self._queue: deque[Event] = deque()
        self._queue_size = queue_size
        # The reader's wait, when it waits: a bare future is cheaper to wake than an asyncio.Event, and
        # one event fanned out to 5,000 sockets wakes 5,000 of them.
        self._waiter: asyncio.Future[None] | None = None
        self._drain: Callable[[], None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._queue:
            if self.close_reason is not None:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def close(self) -> None:
        self._hub._remove(self, CloseReason.CLOSED)

    def drain_with(self, drain: Callable[[], None]) -> None:
        """Push instead of iterating: `drain()` is called now and then whenever an event is queued or the
        subscription closes, synchronously inside fan-out, and takes the queued events with `take()`. It must
        neither raise nor wait; what it leaves queued stays there, in order, counting towards the queue's
        bound. For a consumer that can usually take an event at once (a socket writing into the kernel's
        buffer): one event to 5,000 of them then wakes no task per subscription."""
        self._drain = drain
        drain()

    def take(self) -> Event | None:
        """The oldest queued event, removed from the queue; None when there is none."""
        return self._queue.popleft() if self._queue else None

    def _offer(self, event: Event) -> bool:
        if len(self._queue) >= self._queue_size:
            return False
        self._queue.append(event)
        self._wake()
        return True

    def _shut(self, reason: CloseReason) -> int:
        """Mark closed and wake the reader; returns how many queued events were discarded."""
        self.close_reason = reason
        discarded = len(self._queue)
        self._queue.clear()
        self._wake()
        return discarded

    def _wake(self) -> None:
        if self._drain is not None:
            self._drain()
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Hub:
    def __init__(self, bus: Bus, *, queue_size: int = 256) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.bus = bus
        self._queue_size = queue_size
        self._by_channel: dict[str, set[Subscription]] = {}
        self._subscriptions: set[Subscription] = set()
        self._listeners: dict[str, list[Listener]] = {}

    async def start(self) -> None:
        """Subscribe to the bus. Publishing works without it (a worker process never starts its hub)."""
        await self.bus.subscribe(self._dispatch, self._resync)

    async def stop(self) -> None:
        """Close every subscription with `SHUTDOWN`, then the bus (flushing what is still buffered)."""
        for subscription in list(self._subscriptions):
            self._remove(subscription, CloseReason.SHUTDOWN)
        await self.bus.close()

    def connect(self, channels: Iterable[str]) -> Subscription:
        """Register a client for `channels`; it receives events published from now on."""
        targets = frozenset(channels)
        if not targets:
            raise ValueError("a subscription needs at least one channel")
        subscription = Subscription(self, targets, self._queue_size)
        self._subscriptions.add(subscription)
        for channel in targets:
            self._by_channel.setdefault(channel, set()).add(subscription)
        CONNECTED_CLIENTS.inc()
        return subscription

    def listen(self, channel: str, listener: Listener) -> None:
        """Have this process hear `channel` without a client: internal notices between processes (e.g.
        revoked credentials, which cached socket sign-ins must forget). A listener hears an event published
        here at once and again when the bus brings it back (so it must be idempotent), events of other
        processes from the bus, and bus gaps, when notices may have been missed. Listeners run inside
        publishing and fan-out: they must be quick and never raise."""
        self._listeners.setdefault(channel, []).append(listener)

    async def publish(self, event: Event) -> None:
        child(EVENTS_PUBLISHED, event.name.value).inc()
        # This process's listeners hear it now, not after a round trip through Redis (a revocation must bind
        # the next connect here at once); they hear it again from the bus, so they must be idempotent.
        self._notify(event)
        await self.bus.publish(event)

    def _notify(self, event: Event) -> None:
        for channel in event.channels & self._listeners.keys():
            for listener in self._listeners[channel]:
                listener.heard(event)

    def _dispatch(self, event: Event) -> None:
        self._notify(event)
        # A set: a client on both the account and the conversation channel gets the event once.
        targets: set[Subscription] = set()
        for channel in event.channels:
            targets.update(self._by_channel.get(channel, ()))
        delivered = 0
        for subscription in targets:
            if subscription._offer(event):
                delivered += 1
            else:
                discarded = self._remove(subscription, CloseReason.LAGGING)
                EVENTS_DROPPED.labels(reason="slow_client").inc(1 + discarded)
        if delivered:
            EVENTS_DELIVERED.inc(delivered)

    def _resync(self) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.gap()
        for subscription in list(self._subscriptions):
            self._remove(subscription, CloseReason.RESYNC)

    def _remove(self, subscription: Subscription, reason: CloseReason) -> int:
        if subscription not in self._subscriptions:
            return 0
        self._subscriptions.discard(subscription)
        for channel in subscription.channels:
            members = self._by_channel.get(channel)
            if members is not None:
                members.discard(subscription)
                if not members:
                    del self._by_channel[channel]
        CONNECTED_CLIENTS.dec()
        return subscription._shut(reason)


_hub: Hub | None = None
_warned_without_hub = False


def set_hub(hub: Hub | None) -> None:
    """Install the process's hub (at startup, after `await hub.start()`); `None` uninstalls it."""
    global _hub
    _hub = hub


def installed_hub() -> Hub | None:
    """The process's hub, if one is installed (background work started for a hub stops when it is gone)."""
    return _hub


def get_hub() -> Hub:
    if _hub is None:
        raise RuntimeError("no realtime hub: the app calls nexa.realtime.set_hub() at startup")
    return _hub


def publish(session: AsyncSession, event: Event) -> None:
    """Emit `event` once `session`'s transaction commits; a rolled-back transaction emits nothing."""
    after_commit(session, functools.partial(publish_now, event))


async def publish_now(event: Event) -> None:
    """Emit `event` immediately: for what has no transaction (typing, presence). Never raises."""
    global _warned_without_hub
    if _hub is None:
        # Scripts and unit tests run without a hub; in a server this means startup forgot set_hub().
        if not _warned_without_hub:
            logger.warning("realtime: no hub installed, events are dropped")
            _warned_without_hub = True
        return
    await _hub.publish(event)
