"""Jobs used by the tests (loaded by workers through NEXA_JOB_MODULES=tests.jobs.sample_jobs)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from nexa.jobs.registry import Cancel, ChunkFailures, ChunkJob, Discard, JobContext, Snooze, job
from nexa.webhooks.outbox import record_event as record_webhook_event

# What ran in this process: (kind, args) in execution order.
RAN: list[tuple[str, dict[str, Any]]] = []
# The job ids of each chunk a chunked handler received, in order.
CHUNKS: list[list[int]] = []
CALLS: Counter[int] = Counter()
EXCLUSIVE = {"active": 0, "max_active": 0}


@job("test.record")
async def record(ctx: JobContext, **args: Any) -> None:
    RAN.append(("test.record", args))


@job("test.fail", backoff=lambda attempt: 0.0)
async def fail(ctx: JobContext) -> None:
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


@job("test.fail_default_backoff", max_attempts=5)
async def fail_default_backoff(ctx: JobContext) -> None:
    raise RuntimeError("boom")


@job("test.flaky", backoff=lambda attempt: 0.0)
async def flaky(ctx: JobContext, succeed_on: int) -> None:
    if ctx.attempt < succeed_on:
        raise ValueError("not yet")
    RAN.append(("test.flaky", {"attempt": ctx.attempt}))


@job("test.snooze")
async def snooze(ctx: JobContext, seconds: float, raise_it: bool = False) -> Snooze | None:
    CALLS[ctx.job_id] += 1
    if CALLS[ctx.job_id] == 1:
        if raise_it:
            raise Snooze(seconds)
        return Snooze(seconds)
    RAN.append(("test.snooze", {"attempt": ctx.attempt}))
    return None


@job("test.discard")
async def discard(ctx: JobContext) -> None:
    raise Discard("the record is gone")


@job("test.cancel")
async def cancel(ctx: JobContext) -> None:
    raise Cancel("no longer wanted")


@job("test.timeout", timeout=0.05, max_attempts=1)
async def too_slow(ctx: JobContext) -> None:
    await asyncio.sleep(5)


@job("test.exclusive")
async def exclusive(ctx: JobContext, n: int) -> None:
    EXCLUSIVE["active"] += 1
    EXCLUSIVE["max_active"] = max(EXCLUSIVE["max_active"], EXCLUSIVE["active"])
    try:
        await asyncio.sleep(0.002)
    finally:
        EXCLUSIVE["active"] -= 1
    RAN.append(("test.exclusive", {"n": n}))


@job("test.cron", cron="* * * * *")
async def every_minute(ctx: JobContext) -> None:
    RAN.append(("test.cron", {}))


@job("test.db_record")
async def db_record(ctx: JobContext, n: int, sleep: float = 0.0) -> None:
    """Records the run in `job_runs` (created by the multi-process tests), from any process."""
    if sleep:
        await asyncio.sleep(sleep)
    async with ctx.database.session() as session:
        await session.execute(
            text("INSERT INTO job_runs (n, job_id, attempt) VALUES (:n, :job_id, :attempt)"),
            {"n": n, "job_id": ctx.job_id, "attempt": ctx.attempt},
        )


@job("test.sleep")
async def sleep(ctx: JobContext, seconds: float) -> None:
    await asyncio.sleep(seconds)
    RAN.append(("test.sleep", {"seconds": seconds}))


@job("test.record_account_event")
async def record_account_event(ctx: JobContext) -> None:
    """An event of the job's account, as domain code records one (e.g. a message the bot sent)."""
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        record_webhook_event(session, "conversation_updated", ctx.account_id)


_CHUNK_OUTCOMES: dict[str, BaseException] = {
    "snooze": Snooze(0.1), "discard": Discard("no such record"), "cancel": Cancel("not wanted"),
    "fail": RuntimeError("this one broke"),
}


@job("test.chunk", chunked=True, backoff=lambda attempt: 0.0, max_attempts=2)
async def chunk(jobs: Sequence[ChunkJob]) -> ChunkFailures:
    """Completes its jobs together but for those whose `outcome` names one; `raise_all` fails the chunk."""
    CHUNKS.append([item.ctx.job_id for item in jobs])
    if any(item.args.get("raise_all") for item in jobs):
        raise RuntimeError("the whole chunk broke")
    failures: dict[int, BaseException] = {}
    for item in jobs:
        outcome = item.args.get("outcome")
        if outcome and (outcome != "snooze" or CALLS[item.ctx.job_id] == 0):
            failures[item.ctx.job_id] = _CHUNK_OUTCOMES[outcome]
        CALLS[item.ctx.job_id] += 1
    RAN.extend(("test.chunk", item.args) for item in jobs if item.ctx.job_id not in failures)
    return failures
