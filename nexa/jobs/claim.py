"""The SQL that moves jobs between states: staging, claiming, acknowledging, rescuing.

One statement per step and dialect differences limited to row locking: PostgreSQL locks the rows
it picks with `FOR UPDATE SKIP LOCKED`, so concurrent workers pick disjoint rows without waiting;
SQLite has one writer at a time (write sessions start with `BEGIN IMMEDIATE`), so the same statement
is already exclusive there and SQLAlchemy leaves the locking clause out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, exists, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.engine import Database
from nexa.jobs.models import AVAILABLE, COMPLETED, DISCARDED, EXECUTING, WAITING_STATES, Job, state_is
from nexa.kit.clock import utcnow

_jobs = Job.__table__
_STAGE_BATCH = 5_000
_RESCUE_BATCH = 500
_CLAIM_ATTEMPTS = 3
# Expanding IN lists stay well under SQLite's bound-parameter limit.
_ACK_CHUNK = 500

CLAIMED_COLUMNS = (
    _jobs.c.id,
    _jobs.c.kind,
    _jobs.c.queue,
    _jobs.c.args,
    _jobs.c.attempt,
    _jobs.c.max_attempts,
    _jobs.c.errors,
    _jobs.c.meta,
    _jobs.c.account_id,
    _jobs.c.concurrency_key,
)


async def claim_jobs(database: Database, queue: str, limit: int, worker_id: str) -> Sequence[Row[Any]]:
    """Mark up to `limit` available jobs of `queue` executing by `worker_id` and return them.

    Order: priority, then scheduled_at, then id. A job with a concurrency key is skipped while
    another job with that key executes, and at most one job per key is taken per claim. Two
    PostgreSQL workers can still each take a different job of the same key in the same instant;
    the unique index on executing keys then fails one of the two claims, which is retried.
    """
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            async with database.session() as session:
                return (await session.execute(_claim_statement(database, queue, limit, worker_id))).all()
        except DBAPIError as exc:
            # The other claim has committed by now, so the next attempt sees its executing job.
            if not _is_concurrency_conflict(exc):
                raise
    return []


def _claim_statement(database: Database, queue: str, limit: int, worker_id: str) -> Any:
    now = utcnow()
    running = _jobs.alias("running")
    candidates = (
        select(_jobs.c.id, _jobs.c.concurrency_key, _jobs.c.priority, _jobs.c.scheduled_at)
        .where(state_is(AVAILABLE), _jobs.c.queue == queue)
        .where(
            or_(
                _jobs.c.concurrency_key.is_(None),
                ~exists().where(
                    state_is(EXECUTING, table=running), running.c.concurrency_key == _jobs.c.concurrency_key
                ),
            )
        )
        .order_by(_jobs.c.priority, _jobs.c.scheduled_at, _jobs.c.id)
        .limit(limit)
    )
    if database.is_postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    candidates_cte = candidates.cte("candidates")
    rank = func.row_number().over(
        partition_by=candidates_cte.c.concurrency_key,
        order_by=(candidates_cte.c.priority, candidates_cte.c.scheduled_at, candidates_cte.c.id),
    )
    ranked = select(candidates_cte.c.id, candidates_cte.c.concurrency_key, rank.label("rank")).cte("ranked")
    chosen = select(ranked.c.id).where(or_(ranked.c.concurrency_key.is_(None), ranked.c.rank == 1))
    return (
        update(_jobs)
        .where(_jobs.c.id.in_(chosen))
        .values(
            state=EXECUTING,
            attempt=_jobs.c.attempt + 1,
            attempted_at=now,
            attempted_by=worker_id,
            heartbeat_at=now,
        )
        .returning(*CLAIMED_COLUMNS)
    )


def _is_concurrency_conflict(exc: DBAPIError) -> bool:
    # Unique violation on the executing-key index, or a deadlock between two such claims.
    message = str(exc.orig)
    return "uq_jobs_concurrency_key_executing" in message or "deadlock detected" in message


async def stage_jobs(database: Database) -> set[str]:
    """Make scheduled and retryable jobs whose time has come available; return their queues."""
    now = utcnow()
    due = (
        select(_jobs.c.id)
        .where(state_is(*WAITING_STATES), _jobs.c.scheduled_at <= now)
        .order_by(_jobs.c.scheduled_at)
        .limit(_STAGE_BATCH)
    )
    if database.is_postgres:
        due = due.with_for_update(skip_locked=True)
    stmt = update(_jobs).where(_jobs.c.id.in_(due)).values(state=AVAILABLE).returning(_jobs.c.queue)
    async with database.session() as session:
        return set((await session.scalars(stmt)).all())


async def complete_jobs(session: AsyncSession, ids: Sequence[int], worker_id: str) -> None:
    """Mark jobs completed in one statement per chunk: the hot path of a busy worker."""
    now = utcnow()
    for start in range(0, len(ids), _ACK_CHUNK):
        await session.execute(
            update(_jobs)
            .where(
                _jobs.c.id.in_(ids[start : start + _ACK_CHUNK]),
                _jobs.c.state == EXECUTING,
                _jobs.c.attempted_by == worker_id,
            )
            .values(state=COMPLETED, completed_at=now)
        )


async def finish_job(session: AsyncSession, job_id: int, worker_id: str, values: dict[str, Any]) -> None:
    """Move one executing job to the outcome in `values` (retry, snooze, discard, cancel)."""
    # The guard keeps a worker that lost its job to the reaper from overwriting the new attempt.
    await session.execute(
        update(_jobs)
        .where(_jobs.c.id == job_id, _jobs.c.state == EXECUTING, _jobs.c.attempted_by == worker_id)
        .values(**values)
    )


async def heartbeat_jobs(database: Database, ids: Sequence[int], worker_id: str) -> None:
    now = utcnow()
    async with database.session() as session:
        for start in range(0, len(ids), _ACK_CHUNK):
            await session.execute(
                update(_jobs)
                .where(
                    _jobs.c.id.in_(ids[start : start + _ACK_CHUNK]),
                    _jobs.c.state == EXECUTING,
                    _jobs.c.attempted_by == worker_id,
                )
                .values(heartbeat_at=now)
            )


async def rescue_jobs(database: Database, rescue_after: float) -> int:
    """The reaper: executing jobs whose worker stopped heartbeating (killed, frozen, cut off) run again.

    A rescued job keeps its attempt count, so a job that kills its worker every time ends up
    discarded instead of taking workers down forever.
    """
    now = utcnow()
    stale = (
        select(_jobs.c.id, _jobs.c.attempt, _jobs.c.max_attempts, _jobs.c.errors, _jobs.c.attempted_by)
        .where(state_is(EXECUTING), _jobs.c.heartbeat_at < now - timedelta(seconds=rescue_after))
        .order_by(_jobs.c.heartbeat_at)
        .limit(_RESCUE_BATCH)
    )
    if database.is_postgres:
        stale = stale.with_for_update(skip_locked=True)
    async with database.session() as session:
        rows = (await session.execute(stale)).all()
        for row in rows:
            error = {
                "attempt": row.attempt,
                "at": now.isoformat(),
                "error": f"rescued: worker {row.attempted_by} stopped heartbeating",
                "traceback": None,
            }
            values: dict[str, Any] = {"errors": [*row.errors, error]}
            if row.attempt >= row.max_attempts:
                values.update(state=DISCARDED, discarded_at=now)
            else:
                values.update(state=AVAILABLE)
            await session.execute(update(_jobs).where(_jobs.c.id == row.id).values(**values))
    return len(rows)

