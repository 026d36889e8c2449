"""The bus carries events from whoever publishes them to every process's hub.

`MemoryBus` is the embedded default (one process). `RedisBus` uses Redis pub/sub so events cross
processes (N x `nexa serve` + M x `nexa worker`). Pub/sub keeps no history: a realtime event is a hint
to redraw, and a client that may have missed some is told to resync (see `Hub`), never replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from nexa.config import Settings
from nexa.realtime._metrics import BUS_RECONNECTS, EVENTS_DROPPED
from nexa.realtime.events import Event, _from_wire, _to_wire

logger = logging.getLogger(__name__)

Deliver = Callable[[Event], None]
Resync = Callable[[], None]

# Enough to ride out a Redis restart at a busy moment; bounded so an outage cannot grow memory.
_OUTBOX_SIZE = 1000
# Older events are stale UI hints: clients resync after an outage anyway.
_OUTBOX_MAX_AGE_SECONDS = 10.0
_SEND_BATCH = 100
_BACKOFF_MIN_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0
# How long startup waits for the first subscription before carrying on with Redis still down.
_READY_WAIT_SECONDS = 2.0
_CLOSE_FLUSH_SECONDS = 2.0
_POLL_SECONDS = 1.0


class Bus(Protocol):
    async def publish(self, event: Event) -> None:
        """Hand `event` to every hub. Never raises and never waits on the network."""
        ...

    async def subscribe(self, deliver: Deliver, resync: Resync) -> None:
        """Call `deliver` for every event from now on, and `resync` after a gap that may have lost some.

        One subscriber per bus: the process's hub. `deliver` must not block.
        """
        ...

    async def close(self) -> None: ...


class MemoryBus:
    """In-process: `publish` hands the event straight to the hub, in the publisher's task."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def publish(self, event: Event) -> None:
        if self._deliver is not None:
            self._deliver(event)

    async def subscribe(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver = deliver

    async def close(self) -> None:
        self._deliver = None


class RedisBus:
    """Redis pub/sub on one channel, `<prefix>events`; each hub filters by event channel locally.

    Publishing only appends to a bounded in-memory outbox that a background task drains, so a slow or
    dead Redis never raises into, or blocks, a request. While Redis is down the outbox holds up to
    `_OUTBOX_SIZE` events for up to `_OUTBOX_MAX_AGE_SECONDS`; beyond that events are dropped and counted
    (`nexa_realtime_events_dropped{reason="bus_unavailable"}`). The subscriber reconnects with jittered
    exponential backoff and calls `resync` once it is back.
    """

    def __init__(self, url: str, *, prefix: str = "nexa:rt:") -> None:
        self._channel = f"{prefix}events"
        # We retry with our own backoff; redis-py's built-in retries would only stall the loops.
        self._client = Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            health_check_interval=15,
            retry=Retry(NoBackoff(), 0),
        )
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self._send_failing = False

    async def publish(self, event: Event) -> None:
        if self._closed or len(self._outbox) >= _OUTBOX_SIZE:
            EVENTS_DROPPED.labels(reason="bus_unavailable").inc()
            return
        self._outbox.append((asyncio.get_running_loop().time(), _to_wire(event)))
        self._outbox_ready.set()
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_loop(), name="nexa-realtime-redis-sender")

    async def subscribe(self, deliver: Deliver, resync: Resync) -> None:
        ready = asyncio.Event()
        self._reader = asyncio.create_task(
            self._read_loop(deliver, resync, ready), name="nexa-realtime-redis-reader"
        )
        try:
            await asyncio.wait_for(ready.wait(), _READY_WAIT_SECONDS)
        except TimeoutError:
            logger.warning("realtime bus: Redis not reachable at startup; the subscriber keeps retrying")

    async def close(self) -> None:
        self._closed = True
        # A process that publishes and exits (a CLI command, a worker shutting down) should not lose
        # what it just published; with Redis down there is nothing to wait for.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_FLUSH_SECONDS):
                while self._outbox and not self._send_failing and self._sender is not None:
                    await asyncio.sleep(0.01)
        for task in (self._sender, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._client.aclose()

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        delay = _BACKOFF_MIN_SECONDS
        while True:
            while not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
            while self._outbox and loop.time() - self._outbox[0][0] > _OUTBOX_MAX_AGE_SECONDS:
                self._outbox.popleft()
                EVENTS_DROPPED.labels(reason="bus_unavailable").inc()
            batch = [wire for _, wire in itertools.islice(self._outbox, _SEND_BATCH)]
            if not batch:
                continue
            try:
                # One round trip per batch; after a failure mid-batch a retry may repeat a few events,
                # which clients tolerate (they key everything by id).
                async with self._client.pipeline(transaction=False) as pipe:
                    for wire in batch:
                        pipe.publish(self._channel, wire)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                if not self._send_failing:
                    logger.warning(
                        "realtime bus: cannot publish to Redis, buffering", extra={"error": str(exc)}
                    )
                    self._send_failing = True
                await asyncio.sleep(_jittered(delay))
                delay = min(delay * 2, _BACKOFF_MAX_SECONDS)
                continue
            for _ in batch:
                self._outbox.popleft()
            if self._send_failing:
                logger.info("realtime bus: publishing to Redis again")
                self._send_failing = False
            delay = _BACKOFF_MIN_SECONDS

    async def _read_loop(self, deliver: Deliver, resync: Resync, ready: asyncio.Event) -> None:
        delay = _BACKOFF_MIN_SECONDS
        # True from the first failure until the next subscription: events sent meanwhile went nowhere.
        lost = False
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=_POLL_SECONDS)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        if lost:
                            logger.info("realtime bus: Redis subscription restored")
                            BUS_RECONNECTS.inc()
                            resync()
                        lost = False
                        delay = _BACKOFF_MIN_SECONDS
                        ready.set()
                    elif message["type"] == "message":
                        _deliver_raw(deliver, message["data"])
            except (RedisError, OSError) as exc:
                if not lost:
                    logger.warning(
                        "realtime bus: Redis subscription lost, reconnecting", extra={"error": str(exc)}
                    )
                lost = True
            finally:
                await _close_quietly(pubsub)
            await asyncio.sleep(_jittered(delay))
            delay = min(delay * 2, _BACKOFF_MAX_SECONDS)


def build_bus(settings: Settings) -> Bus:
    """Redis when `NEXA_REDIS_URL` is set (several processes), else the in-process bus."""
    if settings.redis_url:
        return RedisBus(settings.redis_url, prefix=settings.realtime_prefix)
    return MemoryBus()


def _deliver_raw(deliver: Deliver, raw: bytes) -> None:
    try:
        event = _from_wire(raw)
    except (ValueError, KeyError, TypeError):
        # Another version of Nexa during a rolling deploy may send a name this one does not know.
        EVENTS_DROPPED.labels(reason="malformed").inc()
        logger.warning("realtime bus: ignoring unreadable message", extra={"size": len(raw)})
        return
    try:
        deliver(event)
    except Exception:
        logger.exception("realtime bus: delivering an event failed", extra={"event_name": event.name.value})


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()


def _jittered(delay: float) -> float:
    # Many processes losing Redis at once should not reconnect in lockstep.
    return random.uniform(delay / 2, delay)
