"""Enqueue a job inside the caller's transaction: it exists exactly when the caller's writes do."""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Select, Text, bindparam, cast, event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from nexa.db.dialect import conflict_aware_insert
from nexa.db.engine import after_commit
from nexa.jobs.models import AVAILABLE, LIVE_STATES, SCHEDULED, Job, state_is
from nexa.jobs.registry import get_job
from nexa.kit.clock import utcnow

NOTIFY_CHANNEL = "nexa_jobs"  # notified by the trigger of migration 0007 (PostgreSQL)
_LOCAL_WAKE = "nexa_jobs_local_wake"
# A dedupe conflict with a job that finishes before we can read it leaves the key free again: retry.
_DEDUPE_ATTEMPTS = 5

# Workers running in this process, told which queue has new work once an enqueue commits.
_local_listeners: set[Callable[[str], None]] = set()


def subscribe_local(listener: Callable[[str], None]) -> None:
    """Call `listener(queue)` whenever a job enqueued in this process becomes claimable."""
    _local_listeners.add(listener)


def unsubscribe_local(listener: Callable[[str], None]) -> None:
    _local_listeners.discard(listener)


async def enqueue(
    session: AsyncSession,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int | None = None,
    schedule_in: float | timedelta | None = None,
    scheduled_at: datetime | None = None,
    dedupe_key: str | None = None,
    replace_scheduled: bool = False,
    concurrency_key: str | None = None,
    max_attempts: int | None = None,
    account_id: int | None = None,
) -> EnqueuedJob:
    """Insert a job in `session`'s transaction (never commits).

    Queue, priority and max_attempts default to the ones `@job(kind)` declared. With `dedupe_key`,
    a live job (not yet completed, discarded or cancelled) holding that key is returned instead of
    inserting a second one; with `replace_scheduled` too, a job of that key still waiting for its time
    takes this call's args and time instead (Oban's `replace`), in the same single statement.
    """
    values = _job_values(
        kind, args, queue=queue, priority=priority, schedule_in=schedule_in, scheduled_at=scheduled_at,
        dedupe_key=dedupe_key, concurrency_key=concurrency_key, max_attempts=max_attempts, account_id=account_id,
    )
    if replace_scheduled and (dedupe_key is None or values["state"] != SCHEDULED):
        raise ValueError("replace_scheduled needs a dedupe_key and a job scheduled for later")
    job = await _insert(session, values, replace_scheduled=replace_scheduled)
    if job.state == AVAILABLE:
        _wake_on_commit(session, job.queue)
    return job


@dataclass(frozen=True)
class EnqueuedJob:
    """The job an `enqueue` inserted, or the live one holding its dedupe key."""

    id: int
    state: str
    queue: str
    scheduled_at: datetime


def add_job(
    session: AsyncSession,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    queue: str | None = None,
    concurrency_key: str | None = None,
    max_attempts: int | None = None,
    account_id: int | None = None,
) -> None:
    """`enqueue` without a round trip, for synchronous code paths (the webhook outbox, automation triggers):
    the job is kept in the session and written as its transaction commits, with every job kept so: one
    `insert_jobs` INSERT per kind and queue (an ORM `Job` row per job cost about four times the CPU,
    bench/job_rows.py).

    A savepoint rolled back drops the jobs added inside it, as it would their rows; the jobs are not in the
    database before the commit, so queries in the transaction do not see them.
    """
    sync = session.sync_session
    sync.info.setdefault(_KEPT_JOBS, []).append(_KeptJob(
        sync.get_nested_transaction() or sync.get_transaction(), kind, queue, max_attempts,
        NewJob(dict(args or {}), account_id=account_id, concurrency_key=concurrency_key),
    ))
    _wake_on_commit(session, _queue_of(kind, queue))


_KEPT_JOBS = "nexa_kept_jobs"


@dataclass(frozen=True)
class _KeptJob:
    # The innermost transaction when it was added (None: before the session began one).
    transaction: SessionTransaction | None
    kind: str
    queue: str | None
    max_attempts: int | None
    job: NewJob


@event.listens_for(Session, "before_commit")
def _write_kept_jobs(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint released: its jobs stay kept, and go if an enclosing savepoint is rolled back. Written
        # here, they would be inside the enclosing savepoints, with jobs added before those.
        return
    kept: list[_KeptJob] | None = session.info.pop(_KEPT_JOBS, None)
    if not kept:
        return
    session.flush()  # after the caller's own rows, where ORM job rows were written
    by_kind: dict[tuple[str, str | None, int | None], list[NewJob]] = {}
    for item in kept:
        by_kind.setdefault((item.kind, item.queue, item.max_attempts), []).append(item.job)
    dialect = session.get_bind().dialect.name
    for (kind, queue, max_attempts), jobs in by_kind.items():
        statement, parameters, _shared = _jobs_insert(dialect, kind, jobs, queue=queue, max_attempts=max_attempts)
        session.execute(statement, parameters)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_jobs(session: Session, previous_transaction: SessionTransaction) -> None:
    kept: list[_KeptJob] | None = session.info.get(_KEPT_JOBS)
    if kept:
        session.info[_KEPT_JOBS] = [item for item in kept if not _inside(item.transaction, previous_transaction)]


def _inside(transaction: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    if not rolled_back.nested:
        return True  # the whole transaction: everything kept goes
    while transaction is not None:
        if transaction is rolled_back:
            return True
        transaction = transaction.parent
    return False


@dataclass(frozen=True)
class NewJob:
    """One job of an `insert_jobs` call."""

    args: dict[str, Any]
    account_id: int | None = None
    concurrency_key: str | None = None
    dedupe_key: str | None = None


async def insert_jobs(
    session: AsyncSession,
    kind: str,
    jobs: Sequence[NewJob],
    *,
    queue: str | None = None,
    schedule_in: float | timedelta | None = None,
    replace_scheduled: bool = False,
) -> None:
    """Many jobs of one kind, as one INSERT without ORM objects, now (nothing is returned): for the busiest
    writers, the webhook request's group commit (where the ORM's unit of work for the job rows was a fifth
    of the request's CPU), the deliveries and bot turns of a batch of messages, a bot chunk's follow-ups;
    `add_job`'s kept jobs are written with it too.

    A job whose dedupe key a live job holds is not inserted; with `replace_scheduled`, a holder still
    waiting for its time takes the new args and time instead, as `enqueue` does. One statement cannot
    update a row twice, so the keys of one call must differ.
    """
    if not jobs:
        return
    statement, parameters, shared = _jobs_insert(
        session.get_bind().dialect.name, kind, jobs, queue=queue, schedule_in=schedule_in,
        replace_scheduled=replace_scheduled,
    )
    await session.execute(statement, parameters)
    if shared["state"] == AVAILABLE:
        _wake_on_commit(session, shared["queue"])


def _jobs_insert(
    dialect: str,
    kind: str,
    jobs: Sequence[NewJob],
    *,
    queue: str | None = None,
    schedule_in: float | timedelta | None = None,
    replace_scheduled: bool = False,
    max_attempts: int | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """The statement and parameters of `insert_jobs`, and the values its jobs share."""
    keys = [job.dedupe_key for job in jobs if job.dedupe_key is not None]
    if len(set(keys)) < len(keys):
        raise ValueError("the jobs of one insert_jobs call must have different dedupe keys")
    shared = _job_values(kind, None, queue=queue, schedule_in=schedule_in, max_attempts=max_attempts)
    if replace_scheduled and shared["state"] != SCHEDULED:
        raise ValueError("replace_scheduled needs jobs scheduled for later")
    conflict = _Conflict.of(dedupe=bool(keys), replace_scheduled=replace_scheduled)
    if dialect == "postgresql":
        # One execution whatever the number of jobs: as an executemany, PostgreSQL ran the INSERT, and the
        # NOTIFY trigger on it, once per job, and the group commit's INSERT was a third of `nexa serve`'s CPU.
        return _unnest_insert_statement(conflict), {
            **{f"p_{name}": shared[name] for name in _SHARED_COLUMNS},
            "p_args": [json.dumps(job.args) for job in jobs],
            "p_account_ids": [job.account_id for job in jobs],
            "p_concurrency_keys": [job.concurrency_key for job in jobs],
            "p_dedupe_keys": [job.dedupe_key for job in jobs],
        }, shared
    return _with_conflict(conflict_aware_insert(dialect)(Job.__table__), conflict), [
        {**shared, "args": dict(job.args), "account_id": job.account_id, "concurrency_key": job.concurrency_key,
         "dedupe_key": job.dedupe_key}
        for job in jobs
    ], shared


# What `insert_jobs`' jobs share: everything but their args, account, concurrency and dedupe keys.
_SHARED_COLUMNS = (
    "queue", "kind", "state", "attempt", "priority", "max_attempts", "scheduled_at", "inserted_at", "errors", "meta",
)


class _Conflict(enum.Enum):
    """What an INSERT of jobs does when a live job holds a new job's dedupe key."""

    none = "none"  # no dedupe keys: no conflict clause
    skip = "skip"
    replace_scheduled = "replace_scheduled"

    @classmethod
    def of(cls, *, dedupe: bool, replace_scheduled: bool) -> _Conflict:
        return cls.replace_scheduled if replace_scheduled else cls.skip if dedupe else cls.none


def _with_conflict(statement: Any, conflict: _Conflict) -> Any:
    # ON CONFLICT on the partial unique index: the database settles a race between two enqueuers, and on
    # PostgreSQL waits for an uncommitted twin before deciding.
    target = {"index_elements": [Job.__table__.c.dedupe_key], "index_where": state_is(*LIVE_STATES)}
    if conflict == _Conflict.skip:
        return statement.on_conflict_do_nothing(**target)
    if conflict == _Conflict.replace_scheduled:
        # A twin already running (or due) is left alone, as without replacing.
        return statement.on_conflict_do_update(
            **target, set_={"args": statement.excluded.args, "scheduled_at": statement.excluded.scheduled_at},
            where=state_is(SCHEDULED),
        )
    return statement


@functools.cache
def _unnest_insert_statement(conflict: _Conflict) -> Any:
    jobs = Job.__table__
    rows = func.unnest(
        bindparam("p_args", type_=ARRAY(Text)),
        bindparam("p_account_ids", type_=ARRAY(BigInteger)),
        bindparam("p_concurrency_keys", type_=ARRAY(Text)),
        bindparam("p_dedupe_keys", type_=ARRAY(Text)),
    ).table_valued("args", "account_id", "concurrency_key", "dedupe_key").render_derived()
    shared = [bindparam(f"p_{name}", type_=jobs.c[name].type) for name in _SHARED_COLUMNS]
    return _with_conflict(postgresql.insert(jobs).from_select(
        [*_SHARED_COLUMNS, "args", "account_id", "concurrency_key", "dedupe_key"],
        select(*shared, cast(rows.c.args, JSONB), rows.c.account_id, rows.c.concurrency_key, rows.c.dedupe_key),
    ), conflict)


def _queue_of(kind: str, queue: str | None) -> str:
    spec = get_job(kind)
    return queue or (spec.queue if spec else "default")


def _job_values(
    kind: str,
    args: dict[str, Any] | None,
    *,
    queue: str | None = None,
    priority: int | None = None,
    schedule_in: float | timedelta | None = None,
    scheduled_at: datetime | None = None,
    dedupe_key: str | None = None,
    concurrency_key: str | None = None,
    max_attempts: int | None = None,
    account_id: int | None = None,
) -> dict[str, Any]:
    """A job row's values; queue, priority and max_attempts default to what `@job(kind)` declared."""
    spec = get_job(kind)
    now = utcnow()
    if schedule_in is not None and scheduled_at is not None:
        raise ValueError("pass schedule_in or scheduled_at, not both")
    if schedule_in is not None:
        delay = schedule_in if isinstance(schedule_in, timedelta) else timedelta(seconds=schedule_in)
        scheduled_at = now + delay
    run_at = scheduled_at or now
    values: dict[str, Any] = {
        "queue": _queue_of(kind, queue),
        "kind": kind,
        "args": dict(args or {}),
        "state": SCHEDULED if run_at > now else AVAILABLE,
        "attempt": 0,
        "priority": priority if priority is not None else (spec.priority if spec else 5),
        "max_attempts": max_attempts or (spec.max_attempts if spec else 20),
        "scheduled_at": run_at,
        "dedupe_key": dedupe_key,
        "concurrency_key": concurrency_key,
        "account_id": account_id,
        "inserted_at": now,
        "errors": [],
        "meta": {},
    }
    if not 0 <= values["priority"] <= 9:
        raise ValueError(f"priority must be 0 (highest) to 9, not {values['priority']}")
    return values


_RETURNED = (Job.__table__.c.id, Job.__table__.c.state, Job.__table__.c.queue, Job.__table__.c.scheduled_at)


@functools.cache
def _insert_statement(dialect: str, names: tuple[str, ...], dedupe: bool, replace_scheduled: bool) -> Any:
    """The job INSERT of this shape (`names`: the columns `_job_values` sets), built once with bound values:
    every reply, bot turn and receipt enqueues. A Core statement returning four columns: the ORM's INSERT
    returning a `Job` cost three times its CPU (~1.1 against ~0.4 ms)."""
    jobs = Job.__table__
    statement = conflict_aware_insert(dialect)(jobs).values({name: bindparam(name, type_=jobs.c[name].type) for name in names})
    statement = _with_conflict(statement, _Conflict.of(dedupe=dedupe, replace_scheduled=replace_scheduled))
    return statement.returning(*_RETURNED)


@functools.cache
def _live_twin_statement() -> Select[tuple[int, str, str, datetime]]:
    return select(*_RETURNED).where(Job.dedupe_key == bindparam("dedupe_key"), state_is(*LIVE_STATES)).limit(1)


async def _insert(session: AsyncSession, values: dict[str, Any], *, replace_scheduled: bool = False) -> EnqueuedJob:
    dedupe_key = values["dedupe_key"]
    statement = _insert_statement(session.get_bind().dialect.name, tuple(values), dedupe_key is not None, replace_scheduled)
    if dedupe_key is None:
        return EnqueuedJob(*(await session.execute(statement, values)).one())
    for _ in range(_DEDUPE_ATTEMPTS):
        inserted = (await session.execute(statement, values)).first()
        if inserted is not None:
            return EnqueuedJob(*inserted)
        existing = (await session.execute(_live_twin_statement(), {"dedupe_key": dedupe_key})).first()
        if existing is not None:
            return EnqueuedJob(*existing)
    raise RuntimeError(f"could not enqueue or find the live job with dedupe key {dedupe_key!r}")


def _wake_on_commit(session: AsyncSession, queue: str) -> None:
    """Workers in this process hear of the queue's new work once the transaction commits. Other processes
    hear a PostgreSQL `NOTIFY nexa_jobs, '<queue>'`, which a trigger on `jobs` sends for each INSERT that
    makes jobs available (migration 0007): transactional, heard at commit, never after a rollback."""
    pending: set[str] = session.info.setdefault(_LOCAL_WAKE, set())
    if queue in pending:
        return
    pending.add(queue)

    async def wake_local_workers() -> None:
        for listener in list(_local_listeners):
            listener(queue)

    after_commit(session, wake_local_workers)
