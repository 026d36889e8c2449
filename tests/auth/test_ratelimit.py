from __future__ import annotations

import uuid

from redis.asyncio import Redis

from nexa.auth.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter


async def _exercise(limiter: RateLimiter) -> None:
    key = f"login:email:{uuid.uuid4().hex}"
    assert [await limiter.hit(key, 3, 60) for _ in range(3)] == [None, None, None]
    wait = await limiter.hit(key, 3, 60)
    assert wait is not None and 0 < wait <= 60
    await limiter.reset(key)
    assert await limiter.hit(key, 3, 60) is None


async def test_memory_limiter_counts_within_the_window() -> None:
    await _exercise(MemoryRateLimiter())


async def test_redis_limiter_is_shared_between_limiters(redis_url: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        await _exercise(RedisRateLimiter(first))
        key = f"login:ip:{uuid.uuid4().hex}"
        for _ in range(2):
            assert await RedisRateLimiter(first).hit(key, 2, 60) is None
        # Another process (another client) sees the same count.
        assert await RedisRateLimiter(second).hit(key, 2, 60) is not None
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_down_does_not_lock_people_out() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        assert await RedisRateLimiter(unreachable).hit("login:ip:x", 1, 60) is None
    finally:
        await unreachable.aclose()
