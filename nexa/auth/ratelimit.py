"""Fixed-window rate limiting for logins: in memory for one process, Redis when processes share load."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from redis.asyncio import Redis

logger = logging.getLogger(__name__)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one attempt; return seconds to wait when over the limit, else None."""

    async def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.monotonic()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= window_seconds:
            started, count = now, 0
        count += 1
        self._windows[key] = (started, count)
        if len(self._windows) > 100_000:
            self._evict(now, window_seconds)
        if count > limit:
            return max(1, int(window_seconds - (now - started)))
        return None

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _evict(self, now: float, window_seconds: int) -> None:
        for key in [k for k, (started, _) in self._windows.items() if now - started >= window_seconds]:
            del self._windows[key]


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "nexa:rl:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _, ttl = await pipe.incr(name).expire(name, window_seconds, nx=True).ttl(name).execute()
        except Exception:
            # Redis being down must not lock everybody out; the login itself still checks the password.
            logger.warning("rate limiter unavailable", exc_info=True)
            return None
        if int(count) > limit:
            return max(1, int(ttl))
        return None

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except Exception:
            logger.warning("rate limiter unavailable", exc_info=True)
