"""The SQL that moves jobs between states: staging, claiming, acknowledging, rescuing.

One statement per step and dialect differences limited to row locking: PostgreSQL locks the rows
it picks with `FOR UPDATE SKIP LOCKED`, so concurrent workers pick disjoint rows without waiting;
SQLite has one writer at a time (write sessions start with `BEGIN IMMEDIATE`), so the same statement
is already exclusive there and SQLAlchemy leaves the locking clause out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Text,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.dialect import is_postgres, one_of
from nexa.db.engine import Database
from nexa.db.types import UTCDateTime
from nexa.jobs.models import AVAILABLE, COMPLETED, DISCARDED, EXECUTING, WAITING_STATES, Job, state_is
from nexa.kit.clock import utcnow

_jobs = Job.__table__
_STAGE_BATCH = 5_000
_RESCUE_BATCH = 500
_CLAIM_ATTEMPTS = 3
# Expanding IN lists stay well under SQLite's bound-parameter limit.
_ACK_CHUNK = 500
# LOCAL: for this transaction only; the pooled connection then commits durably again.
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")

CLAIMED_COLUMNS = (
    _jobs.c.id,
    _jobs.c.kind,
    _jobs.c.queue,
    _jobs.c.args,
    _jobs.c.attempt,
    _jobs.c.max_attempts,
    # As JSON text, read only by the worker's failure and snooze paths: decoding them for every claimed job
    # was a tenth of a no-op job's CPU.
    cast(_jobs.c.errors, Text).label("errors_json"),
    cast(_jobs.c.meta, Text).label("meta_json"),
    _jobs.c.account_id,
    _jobs.c.concurrency_key,
)


async def claim_jobs(
    database: Database,
    queue: str,
    limit: int,
    worker_id: str,
    acks: Sequence[tuple[int, dict[str, Any]]] = (),
) -> Sequence[Row[Any]]:
    """Record `acks`, then mark up to `limit` available jobs of `queue` executing by `worker_id`.

    One transaction does both, so a busy worker pays one round of commits per batch of jobs. An
    ack is (job id, columns to set); empty columns mean completed. Claim order: priority, then
    scheduled_at, then id. A job with a concurrency key is skipped while another job with that key
    executes, and at most one job per key is taken per claim. Two PostgreSQL workers can still each
    take a different job of the same key in the same instant; the unique index on executing keys
    then fails one of the two transactions, which is retried.
    """
    completed = [job_id for job_id, values in acks if not values]
    finished = [(job_id, values) for job_id, values in acks if values]
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            # A claim alone is one statement: it needs no transaction around it (two round trips fewer).
            async with database.session(transaction=bool(acks)) as session:
                if acks and database.is_postgres:
                    # Outcomes commit without waiting for the WAL flush (decision 0012): one lost in a
                    # database crash leaves its job executing, and the reaper runs it again, as after a
                    # worker crash. The job's own writes committed durably in their own transaction.
                    await session.execute(_ASYNC_COMMIT)
                await _write_acks(session, database.is_postgres, worker_id, completed, finished)
                if limit <= 0:
                    return []
                params = {"p_queue": queue, "p_limit": limit, "p_worker_id": worker_id, "p_now": utcnow()}
                return (await session.execute(_claim_statement(database.is_postgres), params)).all()
        except DBAPIError as exc:
            # The other claim has committed by now, so the next attempt sees its executing job.
            if not _is_concurrency_conflict(exc):
                raise
    return []


async def _write_acks(
    session: AsyncSession,
    postgres: bool,
    worker_id: str,
    completed: list[int],
    finished: list[tuple[int, dict[str, Any]]],
) -> None:
    now = utcnow()
    # The worker guard keeps a worker that lost a job to the reaper from overwriting the new attempt.
    for start in range(0, len(completed), _ACK_CHUNK):
        ids = completed[start : start + _ACK_CHUNK]
        await session.execute(_complete_statement(postgres), {"p_ids": ids, "p_worker_id": worker_id, "p_now": now})
    for job_id, values in finished:
        await session.execute(
            update(_jobs)
            .where(_jobs.c.id == job_id, _jobs.c.state == EXECUTING, _jobs.c.attempted_by == worker_id)
            .values(**values)
        )


@lru_cache
def _complete_statement(postgres: bool) -> Any:
    return (
        update(_jobs)
        .where(
            one_of(_jobs.c.id, "p_ids", postgres=postgres),
            _jobs.c.state == EXECUTING, _jobs.c.attempted_by == bindparam("p_worker_id"),
        )
        .values(state=COMPLETED, completed_at=bindparam("p_now", type_=UTCDateTime))
    )


@lru_cache
def _claim_statement(postgres: bool) -> Any:
    # Built once: constructing this statement costs more than running it.
    now = bindparam("p_now", type_=UTCDateTime)
    running = _jobs.alias("running")
    candidates = (
        select(_jobs.c.id, _jobs.c.concurrency_key, _jobs.c.priority, _jobs.c.scheduled_at)
        .where(state_is(AVAILABLE), _jobs.c.queue == bindparam("p_queue"))
        .where(
            or_(
                _jobs.c.concurrency_key.is_(None),
                ~exists().where(
                    state_is(EXECUTING, table=running), running.c.concurrency_key == _jobs.c.concurrency_key
                ),
            )
        )
        .order_by(_jobs.c.priority, _jobs.c.scheduled_at, _jobs.c.id)
        .limit(bindparam("p_limit", type_=Integer))
    )
    if postgres:
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
            attempted_by=bindparam("p_worker_id"),
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
    async with database.session(transaction=False) as session:
        return set((await session.scalars(stmt)).all())


async def heartbeat_jobs(database: Database, ids: Sequence[int], worker_id: str) -> None:
    now = utcnow()
    # Each chunk's statement stands alone: a beat is worth keeping even if the next chunk's fails.
    async with database.session(transaction=False) as session:
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


async def release_lost_claims(database: Database, queue: str, worker_id: str, held: Collection[int]) -> int:
    """Jobs of `queue` executing under `worker_id` that the worker does not hold (run, or has an outcome
    for) go back to available, the attempt their claim counted undone; returns how many.

    They come from a claim whose answer was lost: the connection dropped after the database committed it.
    Without this they would wait for the reaper (`job_rescue_after_seconds`, 90 s by default), holding
    their concurrency keys meanwhile: a customer's inbound shard stalled after a database blip."""
    lost = update(_jobs).where(state_is(EXECUTING), _jobs.c.queue == queue, _jobs.c.attempted_by == worker_id)
    if held:
        lost = lost.where(_jobs.c.id.not_in(sorted(held)))
    async with database.session(transaction=False) as session:
        released = await session.execute(lost.values(state=AVAILABLE, attempt=_jobs.c.attempt - 1))
    return int(released.rowcount)  # type: ignore[attr-defined]


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



async def take_batch(
    session: AsyncSession, queue: str, concurrency_key: str, limit: int, taken_by: str
) -> list[Row[Any]]:
    """Complete, in `session`'s transaction, up to `limit` available jobs queued behind a running one.

    For handlers that group-commit (the inbound webhook processor): the running job with
    `concurrency_key` handles the jobs waiting with the same key in its own transaction, so their
    work and their completion commit together, or roll back together and the jobs are available again.
    Returned in claim order; only jobs already due are taken.
    """
    if limit <= 0:
        return []
    rows = (await session.execute(_take_batch_statement(is_postgres(session)), {
        "p_queue": queue, "p_key": concurrency_key, "p_limit": limit, "p_now": utcnow(), "p_by": taken_by,
    })).all()
    return sorted(rows, key=lambda row: (row.priority, row.scheduled_at, row.id))


@lru_cache
def _take_batch_statement(postgres: bool) -> Any:
    now = bindparam("p_now", type_=UTCDateTime)
    waiting = (
        select(_jobs.c.id)
        # The queue lets this walk ix_jobs_fetch in claim order, filtering on the key.
        .where(state_is(AVAILABLE), _jobs.c.queue == bindparam("p_queue"), _jobs.c.concurrency_key == bindparam("p_key"))
        .order_by(_jobs.c.priority, _jobs.c.scheduled_at, _jobs.c.id)
        .limit(bindparam("p_limit", type_=Integer))
    )
    if postgres:
        waiting = waiting.with_for_update(skip_locked=True)
    return (
        update(_jobs)
        .where(_jobs.c.id.in_(waiting.scalar_subquery()))
        .values(state=COMPLETED, attempt=_jobs.c.attempt + 1, attempted_at=now, attempted_by=bindparam("p_by"),
                completed_at=now)
        .returning(_jobs.c.id, _jobs.c.args, _jobs.c.priority, _jobs.c.scheduled_at)
    )
