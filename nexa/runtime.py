"""What one process holds for its lifetime: settings, database, cipher, rate limiter, realtime, worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from nexa.auth.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from nexa.config import Settings
from nexa.db.engine import Database
from nexa.kit.crypto import Cipher


@dataclass
class Runtime:
    settings: Settings
    db: Database
    cipher: Cipher
    rate_limiter: RateLimiter
    redis: Redis | None = None
    extras: dict[str, Any] = field(default_factory=dict)

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

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()
