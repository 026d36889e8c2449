"""Recurring jobs (cron) and the pruning of finished jobs.

Every scheduler enqueues each run with the dedupe key `cron:<kind>:<run time>`, and checks for
that key among finished jobs too, while holding a lock that serializes schedulers (PostgreSQL
advisory lock; SQLite's single writer). Two schedulers ticking the same minute, or a scheduler
restarted mid-minute, therefore enqueue each run once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from croniter import croniter
from sqlalchemy import delete, func, select

from nexa.config import Settings, get_settings
from nexa.db.engine import Database
from nexa.jobs.enqueue import enqueue
from nexa.jobs.models import FINAL_STATES, Job, state_is
from nexa.jobs.registry import JobContext, Recurring, job, load_job_modules, recurring_jobs
from nexa.kit.clock import utcnow

logger = logging.getLogger(__name__)

# Arbitrary and fixed ("nexajobs"): the advisory lock every scheduler takes while it enqueues.
_SCHEDULER_LOCK = 0x6E6578616A6F6273
# A scheduler that was blocked for a long time catches up at most this many runs per entry.
_MAX_RUNS_PER_TICK = 60
_PRUNE_BATCH = 10_000
_PRUNE_MAX_BATCHES = 100


class Scheduler:
    """Enqueues recurring jobs at their cron times. Safe to run several (see module docstring)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            load_job_modules(self.settings.job_modules.split(","))
            self._task = asyncio.create_task(self._loop(), name="nexa-jobs-scheduler")
            logger.info("job scheduler started", extra={"entries": len(recurring_jobs())})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        since = utcnow()
        while True:
            now = utcnow()
            # Wake just after the next minute boundary, the finest cron resolution.
            await asyncio.sleep(60 - now.second - now.microsecond / 1e6 + 0.05)
            until = utcnow()
            try:
                await enqueue_recurring(self.database, since=since, until=until)
                since = until
            except Exception:
                logger.exception("enqueuing recurring jobs failed; will catch up on the next tick")


async def enqueue_recurring(database: Database, *, since: datetime, until: datetime) -> int:
    """Enqueue every recurring run due in (since, until]; return how many were new."""
    entries = recurring_jobs()
    if not entries:
        return 0
    created = 0
    async with database.session() as session:
        if database.is_postgres:
            await session.execute(select(func.pg_advisory_xact_lock(_SCHEDULER_LOCK)))
        for entry in entries:
            for run_at in _runs(entry, since, until):
                key = _dedupe_key(entry, run_at)
                if await session.scalar(select(Job.id).where(Job.dedupe_key == key).limit(1)) is not None:
                    continue
                await enqueue(session, entry.kind, entry.args, dedupe_key=key, scheduled_at=run_at)
                created += 1
    return created


def _runs(entry: Recurring, since: datetime, until: datetime) -> Iterator[datetime]:
    runs = croniter(entry.cron, since)
    for _ in range(_MAX_RUNS_PER_TICK):
        run_at: datetime = runs.get_next(datetime)
        if run_at > until:
            return
        yield run_at


def _dedupe_key(entry: Recurring, run_at: datetime) -> str:
    key = f"cron:{entry.kind}:{run_at:%Y-%m-%dT%H:%MZ}"
    if entry.args:
        # Two schedules of one kind with different args are different runs.
        digest = hashlib.sha256(json.dumps(entry.args, sort_keys=True).encode()).hexdigest()[:12]
        key += f":{digest}"
    return key


async def prune_jobs(database: Database, older_than: timedelta) -> int:
    """Delete completed, discarded and cancelled jobs that finished more than `older_than` ago."""
    cutoff = utcnow() - older_than
    finished_at = func.coalesce(Job.completed_at, Job.discarded_at, Job.cancelled_at)
    deleted = 0
    # Bounded batches keep each transaction (and SQLite's write lock) short.
    for _ in range(_PRUNE_MAX_BATCHES):
        batch = select(Job.id).where(state_is(*FINAL_STATES), finished_at < cutoff).limit(_PRUNE_BATCH)
        async with database.session() as session:
            result = await session.execute(
                delete(Job).where(Job.id.in_(batch)).execution_options(synchronize_session=False)
            )
        deleted += result.rowcount or 0
        if (result.rowcount or 0) < _PRUNE_BATCH:
            break
    return deleted


@job("nexa.jobs.prune", queue="default", max_attempts=3, cron="17 * * * *")
async def prune(ctx: JobContext) -> None:
    days = get_settings().job_prune_after_days
    deleted = await prune_jobs(ctx.database, timedelta(days=days))
    ctx.logger.info("pruned finished jobs", extra={"deleted": deleted, "older_than_days": days})
