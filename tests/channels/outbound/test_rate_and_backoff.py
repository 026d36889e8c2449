"""The per-number token bucket (one process, or shared through Redis) and the retry backoff."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from nexa.channels.outbound import MemorySendRateLimiter, RedisSendRateLimiter, SendRateLimiter, delivery_backoff
from nexa.runtime import Runtime


async def _burst(limiter: SendRateLimiter, key: str, rate: float, count: int) -> list[float]:
    return [wait for _ in range(count) for wait in await limiter.acquire(key, rate)]


async def _bucket_of_ten_per_second(limiter: SendRateLimiter, key: str) -> None:
    waits = await _burst(limiter, key, 10, 12)
    assert waits[:10] == [0.0] * 10
    assert all(0 < wait <= 0.1 + 1e-6 for wait in waits[10:])
    assert await limiter.acquire(f"{key}:other-number", 10) == [0.0]


async def _chunk_of_twelve_at_ten_per_second(limiter: SendRateLimiter, key: str) -> None:
    # A delivery chunk takes its sends with one call: the ones over the rate wait their turns, a tenth of a
    # second apart, instead of all coming back at once.
    waits = await limiter.acquire(key, 10, 12)
    assert waits[:10] == [0.0] * 10
    assert 0 < waits[10] <= 0.1 + 1e-6
    assert waits[11] == pytest.approx(waits[10] + 0.1)
    assert (await limiter.acquire(key, 10, 1))[0] > 0  # the refused ones took nothing, nor gave anything back


async def _slower_than_one_per_second(limiter: SendRateLimiter, key: str) -> None:
    first, second = await limiter.acquire(key, 0.5, 2)
    assert first == 0.0  # a rate under one per second still sends
    assert 1.9 < second <= 2.0 + 1e-6


@pytest.mark.parametrize("check", [_bucket_of_ten_per_second, _chunk_of_twelve_at_ten_per_second, _slower_than_one_per_second])
async def test_memory_bucket_allows_one_second_of_sends_then_says_how_long_to_wait(check: Any) -> None:
    await check(MemorySendRateLimiter(), "inbox:1")


@pytest.mark.parametrize("check", [_chunk_of_twelve_at_ten_per_second, _slower_than_one_per_second])
async def test_redis_bucket_takes_a_chunk_of_sends_at_once(redis_url: str, check: Any) -> None:
    redis = Redis.from_url(redis_url)
    try:
        await check(RedisSendRateLimiter(redis), f"inbox:{uuid.uuid4().hex}")
    finally:
        await redis.aclose()


async def test_redis_bucket_is_shared_by_every_process(redis_url: str) -> None:
    key = f"inbox:{uuid.uuid4().hex}"
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        # Two processes' limiters drain the same bucket.
        assert await _burst(RedisSendRateLimiter(first), key, 4, 2) == [0.0, 0.0]
        assert await _burst(RedisSendRateLimiter(second), key, 4, 2) == [0.0, 0.0]
        assert (await RedisSendRateLimiter(first).acquire(key, 4))[0] > 0
        await _bucket_of_ten_per_second(RedisSendRateLimiter(first), f"{key}:ten")
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_down_does_not_stop_sending() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        assert await RedisSendRateLimiter(unreachable).acquire("inbox:1", 1, 3) == [0.0, 0.0, 0.0]
    finally:
        await unreachable.aclose()


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 0.045, 0.055), (2, 0.09, 0.11), (3, 0.18, 0.22), (9, 0.18, 0.22)])
async def test_backoff_doubles_from_the_configured_base_up_to_its_cap(
    app: object, runtime: Runtime, attempt: int, low: float, high: float
) -> None:
    assert low <= delivery_backoff(attempt) <= high
