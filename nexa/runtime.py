"""What one process holds for its lifetime: settings, database, cipher, rate limiter, realtime, worker,
and the one outbound HTTP client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from redis.asyncio import Redis

from nexa.auth.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from nexa.config import Settings, get_settings
from nexa.db.engine import Database
from nexa.kit import http
from nexa.kit.crypto import Cipher

# Providers answer in well under this; a hung connection must not hold a delivery slot for long.
_HTTP_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    cipher: Cipher
    rate_limiter: RateLimiter
    redis: Redis | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _http: httpx.AsyncClient | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Runtime:
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        return cls(
            settings=settings,
            db=db or Database(settings.resolved_database_url, pool_size=settings.database_pool_size),
            cipher=Cipher(settings),
            rate_limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
            redis=redis,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The process's one outbound HTTP client (providers, media, webhooks), created on first use so
        its connection pool belongs to the running event loop."""
        if self._http is None or self._http.is_closed:
            self._http = http.client(timeout=_HTTP_TIMEOUT, follow_redirects=True)
        return self._http

    async def close_http(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def close(self) -> None:
        await self.close_http()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


_current: Runtime | None = None


def use_runtime(runtime: Runtime | None) -> None:
    """Make `runtime` the one code outside a request reaches (jobs, payload serializers); create_app calls it."""
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    """This process's runtime. A bare `nexa worker` process has no app: one is built from the environment
    on first use (its database engine stays unused, jobs get theirs from the worker)."""
    global _current
    if _current is None:
        _current = Runtime.build(get_settings())
    return _current
