"""A circuit breaker per account in front of its LLM.

After `threshold` consecutive failures the circuit opens: no calls for `open_seconds`, the bot falls
back to its no-LLM steps at once instead of waiting for a timeout on every message. Then it is half-open:
one call is let through as a probe; its success closes the circuit, its failure opens it again.

The state lives in Redis when the process has one, so every web and worker process sees the same circuit;
otherwise in this process's memory.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from nexa.runtime import Runtime

BreakerState = Literal["closed", "open", "half_open"]
_KEY = "nexa:llm:breaker:{account_id}:{field}"
logger = logging.getLogger(__name__)
T = TypeVar("T")


class CircuitBreaker(Protocol):
    async def allow(self, account_id: int, *, probe_seconds: float) -> bool:
        """May a call go out now? In half-open state only one caller per `probe_seconds` gets True."""

    async def succeeded(self, account_id: int) -> None: ...

    async def failed(self, account_id: int, *, threshold: int, open_seconds: int) -> None: ...

    async def state(self, account_id: int) -> BreakerState: ...


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float | None = None
    probe_until: float = 0.0


class MemoryCircuitBreaker:
    def __init__(self) -> None:
        self._circuits: dict[int, _Circuit] = {}

    async def allow(self, account_id: int, *, probe_seconds: float) -> bool:
        circuit = self._circuits.get(account_id)
        if circuit is None or circuit.open_until is None:
            return True
        now = time.monotonic()
        if now < circuit.open_until or now < circuit.probe_until:
            return False
        circuit.probe_until = now + probe_seconds
        return True

    async def succeeded(self, account_id: int) -> None:
        self._circuits.pop(account_id, None)

    async def failed(self, account_id: int, *, threshold: int, open_seconds: int) -> None:
        circuit = self._circuits.setdefault(account_id, _Circuit())
        circuit.failures += 1
        # A failed probe (half-open) reopens at once.
        if circuit.failures >= threshold or circuit.open_until is not None:
            circuit.failures = 0
            circuit.open_until = time.monotonic() + open_seconds
            circuit.probe_until = 0.0

    async def state(self, account_id: int) -> BreakerState:
        circuit = self._circuits.get(account_id)
        if circuit is None or circuit.open_until is None:
            return "closed"
        return "open" if time.monotonic() < circuit.open_until else "half_open"


class RedisCircuitBreaker:
    """Keys per account: `failures` (a counter), `open` (exists while open: its TTL is the open time),
    `tripped` (exists from opening until a success: after `open` expires it means half-open), `probe`."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        # Redis being down must not take the bot down with it: the circuit is then kept per process.
        self._degraded = MemoryCircuitBreaker()

    async def _either(self, shared: Awaitable[T], local: Callable[[], Awaitable[T]]) -> T:
        try:
            return await shared
        except (RedisError, OSError):
            logger.warning("llm circuit breaker: Redis unavailable, keeping the circuit in this process")
            return await local()

    def _key(self, account_id: int, field: str) -> str:
        return _KEY.format(account_id=account_id, field=field)

    async def allow(self, account_id: int, *, probe_seconds: float) -> bool:
        return await self._either(
            self._redis_allow(account_id, probe_seconds=probe_seconds),
            lambda: self._degraded.allow(account_id, probe_seconds=probe_seconds),
        )

    async def _redis_allow(self, account_id: int, *, probe_seconds: float) -> bool:
        tripped, is_open = await self._redis.mget(self._key(account_id, "tripped"), self._key(account_id, "open"))
        if tripped is None:
            return True
        if is_open is not None:
            return False
        return bool(await self._redis.set(self._key(account_id, "probe"), "1", nx=True, px=max(1, int(probe_seconds * 1000))))

    async def succeeded(self, account_id: int) -> None:
        return await self._either(
            self._redis_succeeded(account_id), lambda: self._degraded.succeeded(account_id)
        )

    async def _redis_succeeded(self, account_id: int) -> None:
        await self._redis.delete(*(self._key(account_id, f) for f in ("failures", "open", "tripped", "probe")))

    async def failed(self, account_id: int, *, threshold: int, open_seconds: int) -> None:
        return await self._either(
            self._redis_failed(account_id, threshold=threshold, open_seconds=open_seconds),
            lambda: self._degraded.failed(account_id, threshold=threshold, open_seconds=open_seconds),
        )

    async def _redis_failed(self, account_id: int, *, threshold: int, open_seconds: int) -> None:
        failures_key = self._key(account_id, "failures")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(failures_key)
            pipe.expire(failures_key, 86400)
            pipe.exists(self._key(account_id, "tripped"))
            failures, _, tripped = await pipe.execute()
        if failures >= threshold or tripped:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key(account_id, "open"), "1", ex=open_seconds)
                pipe.set(self._key(account_id, "tripped"), "1", ex=open_seconds + 86400)
                pipe.delete(failures_key, self._key(account_id, "probe"))
                await pipe.execute()

    async def state(self, account_id: int) -> BreakerState:
        return await self._either(
            self._redis_state(account_id), lambda: self._degraded.state(account_id)
        )

    async def _redis_state(self, account_id: int) -> BreakerState:
        tripped, is_open = await self._redis.mget(self._key(account_id, "tripped"), self._key(account_id, "open"))
        if tripped is None:
            return "closed"
        return "open" if is_open is not None else "half_open"


def circuit_breaker(runtime: Runtime) -> CircuitBreaker:
    """The process's breaker: shared through Redis when configured."""
    breaker = runtime.extras.get("llm_breaker")
    if breaker is None:
        breaker = RedisCircuitBreaker(runtime.redis) if runtime.redis is not None else MemoryCircuitBreaker()
        runtime.extras["llm_breaker"] = breaker
    return breaker
