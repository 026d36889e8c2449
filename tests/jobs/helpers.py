"""Polling helpers for job tests: every wait is bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import select, text

from nexa.db.engine import Database
from nexa.jobs.models import Job


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


async def get_job(db: Database, job_id: int) -> Job:
    async with db.session(write=False) as session:
        job = await session.scalar(select(Job).where(Job.id == job_id))
    assert job is not None
    return job


async def wait_for_state(db: Database, job_id: int, *states: str, timeout: float = 10.0) -> Job:
    async def reached() -> bool:
        return (await get_job(db, job_id)).state in states

    await wait_for(reached, timeout)
    return await get_job(db, job_id)


@asynccontextmanager
async def runs_table(db: Database) -> AsyncIterator[None]:
    """`job_runs`, where `test.db_record` jobs write one row per execution, from any process."""
    async with db.session() as session:
        await session.execute(
            text("CREATE TABLE job_runs (n INTEGER NOT NULL, job_id BIGINT NOT NULL, attempt INTEGER NOT NULL)")
        )
    try:
        yield
    finally:
        async with db.session() as session:
            await session.execute(text("DROP TABLE job_runs"))
