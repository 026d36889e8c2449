"""The per-number token bucket (one process, or shared through Redis) and the retry backoff."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from nexa.channels.outbound import MemorySendRateLimiter, RedisSendRateLimiter, SendRateLimiter, delivery_backoff
from nexa.runtime import Runtime


async def _burst(limiter: SendRateLimiter, key: str, rate: float, count: int) -> list[float]:
    return [await limiter.acquire(key, rate) for _ in range(count)]


async def _bucket_of_ten_per_second(limiter: SendRateLimiter, key: str) -> None:
    waits = await _burst(limiter, key, 10, 12)
    assert waits[:10] == [0.0] * 10
    assert all(0 < wait <= 0.1 + 1e-6 for wait in waits[10:])
    assert await limiter.acquire(f"{key}:other-number", 10) == 0.0


async def test_memory_bucket_allows_one_second_of_sends_then_says_how_long_to_wait() -> None:
    await _bucket_of_ten_per_second(MemorySendRateLimiter(), "inbox:1")


async def test_redis_bucket_is_shared_by_every_process(redis_url: str) -> None:
    key = f"inbox:{uuid.uuid4().hex}"
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        # Two processes' limiters drain the same bucket.
        assert await _burst(RedisSendRateLimiter(first), key, 4, 2) == [0.0, 0.0]
        assert await _burst(RedisSendRateLimiter(second), key, 4, 2) == [0.0, 0.0]
        assert await RedisSendRateLimiter(first).acquire(key, 4) > 0
        await _bucket_of_ten_per_second(RedisSendRateLimiter(first), f"{key}:ten")
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_down_does_not_stop_sending() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        assert await RedisSendRateLimiter(unreachable).acquire("inbox:1", 1) == 0.0
    finally:
        await unreachable.aclose()


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 0.045, 0.055), (2, 0.09, 0.11), (3, 0.18, 0.22), (9, 0.18, 0.22)])
async def test_backoff_doubles_from_the_configured_base_up_to_its_cap(
    app: object, runtime: Runtime, attempt: int, low: float, high: float
) -> None:
    assert low <= delivery_backoff(attempt) <= high
