"""The worker: claims jobs from its queues, runs their handlers, records outcomes, keeps them alive.

One asyncio task per queue claims as many jobs as the queue has free slots (per-queue limits from
`Settings.worker_queues`); each job runs in its own task. The same task writes the outcomes of
finished jobs, in the transaction of its next claim: a busy worker spends one transaction per batch
of jobs, not two per job. A maintenance task stages due jobs, heartbeats running ones and runs the
reaper. The worker sleeps until a local enqueue commits, a PostgreSQL NOTIFY arrives, a slot frees
up or the poll interval passes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy import Row

from nexa.config import Settings
from nexa.db.engine import Database, DatabaseUnavailable, database_unreachable
from nexa.jobs import claim, enqueue, metrics
from nexa.jobs.models import CANCELLED, COMPLETED, DISCARDED, RETRYABLE, SCHEDULED
from nexa.jobs.registry import (
    Cancel,
    ChunkFailures,
    ChunkJob,
    Discard,
    JobContext,
    Snooze,
    get_job,
    load_job_modules,
)
from nexa.kit import account_facts
from nexa.kit.clock import utcnow
from nexa.kit.logging import account_id_var, job_id_var

logger = logging.getLogger(__name__)

_DEFAULT_QUEUE_LIMIT = 10
_TRACEBACK_LIMIT = 8_000
_METRICS_INTERVAL = 15.0
# How soon the other queues look again once a keyed job finished (see Worker._wake_all_soon).
_KEY_RELEASE_WAKE_SECONDS = 0.05


@dataclass
class _Outcome:
    job_id: int
    state: str
    concurrency_key: str | None
    # Columns to write besides the state; empty for a plain completion (the batched hot path).
    values: dict[str, Any] = field(default_factory=dict)


class Worker:
    """Runs jobs from `queues` (default: every queue in `Settings.worker_queues`).

    Start it inside any running event loop (`nexa serve` does) or alone (`nexa worker`).
    Several workers, in one process or many, share the same tables safely.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        queues: Iterable[str] | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        limits = settings.queue_limits()
        names = [name.strip() for name in (queues or limits) if name.strip()]
        self.database = database
        self.settings = settings
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.limits = {name: limits.get(name, _DEFAULT_QUEUE_LIMIT) for name in names}
        self._poll_interval = settings.worker_poll_interval
        self._cooldown = settings.worker_dispatch_cooldown
        self._rescue_after = settings.job_rescue_after_seconds
        # Several heartbeats fit in one rescue window, so one slow beat never gets a live job rescued.
        self._heartbeat_interval = min(settings.job_heartbeat_seconds, self._rescue_after / 3)
        self._running: dict[str, dict[int, asyncio.Task[None]]] = {name: {} for name in names}
        self._wake: dict[str, asyncio.Event] = {}
        # Outcomes not yet written, per queue; the table still says executing until they are.
        self._acks: dict[str, list[_Outcome]] = {name: [] for name in names}
        self._queue_loops: list[asyncio.Task[None]] = []
        self._maintenance: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._key_release_wake: asyncio.TimerHandle | None = None
        self._stopping = False
        self._started = False
        self._database_lost = False

    async def start(self) -> None:
        """Import the job modules and begin claiming; returns at once, work goes on in tasks."""
        if self._started:
            return
        self._started = True
        load_job_modules(self.settings.job_modules.split(","))
        self._wake = {name: asyncio.Event() for name in self.limits}
        enqueue.subscribe_local(self._on_enqueue)
        await self._listen()
        self._queue_loops = [
            asyncio.create_task(self._queue_loop(name), name=f"nexa-jobs-{name}") for name in self.limits
        ]
        self._maintenance = asyncio.create_task(self._maintenance_loop(), name="nexa-jobs-maintenance")
        logger.info("job worker started", extra={"worker": self.id, "queues": self.limits})

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, give running jobs `timeout` seconds to finish, then cancel the rest.

        A cancelled job is recorded as a failed attempt and retried later, like any failure.
        """
        if not self._started or self._stopping:
            return
        self._stopping = True
        enqueue.unsubscribe_local(self._on_enqueue)
        self._wake_all()
        deadline = asyncio.get_running_loop().time() + timeout
        # Looped: a claim that was in flight when stop began may still hand over a few jobs.
        while running := [task for tasks in self._running.values() for task in tasks.values()]:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            _done, pending = await asyncio.wait(running, timeout=remaining)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        # Queue loops are never cancelled: a claim that committed must reach its handlers, and
        # they write the last outcomes before they return.
        self._wake_all()
        await asyncio.gather(*self._queue_loops, return_exceptions=True)
        if self._key_release_wake is not None:
            self._key_release_wake.cancel()
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
        logger.info("job worker stopped", extra={"worker": self.id})

    # -- waking ----------------------------------------------------------------------------------

    def _wake_all(self) -> None:
        for event in self._wake.values():
            event.set()

    def _wake_all_soon(self) -> None:
        """Wake every queue within `_KEY_RELEASE_WAKE_SECONDS`, once however many keyed jobs finish meanwhile: a
        key may be shared by queues (a conversation's deliveries and its assignment), but waking every queue at
        each acknowledgement of a busy one made each idle queue claim, in vain, as often as the busy one."""
        if self._key_release_wake is None:
            self._key_release_wake = asyncio.get_running_loop().call_later(
                _KEY_RELEASE_WAKE_SECONDS, self._wake_all_now
            )

    def _wake_all_now(self) -> None:
        self._key_release_wake = None
        self._wake_all()

    def _on_enqueue(self, queue: str) -> None:
        event = self._wake.get(queue)
        if event is not None:
            event.set()

    async def _listen(self) -> None:
        """LISTEN for enqueues committed by other processes; polling covers any gap."""
        if not self.database.is_postgres or (self._listener is not None and not self._listener.is_closed()):
            return
        dsn = self.database.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._listener = await asyncpg.connect(dsn)
            await self._listener.add_listener(
                enqueue.NOTIFY_CHANNEL, lambda _conn, _pid, _channel, queue: self._on_enqueue(queue)
            )
        except (OSError, asyncpg.PostgresError):
            logger.warning("cannot LISTEN for new jobs; polling only", exc_info=True)
            self._listener = None

    # -- claiming and running ----------------------------------------------------------------------

    async def _queue_loop(self, queue: str) -> None:
        wake = self._wake[queue]
        limit = self.limits[queue]
        loop = asyncio.get_running_loop()
        last_claim = -self._cooldown
        backlog = False
        claim_lost = False  # whether a claim failed, so that the database may hold one this loop never saw
        while not (self._stopping and not self._running[queue] and not self._acks[queue]):
            await self._cool_down(queue, last_claim + self._cooldown, backlog)
            last_claim = loop.time()
            wake.clear()
            free = 0 if self._stopping else limit - len(self._running[queue])
            acks, self._acks[queue] = self._acks[queue], []
            claimed: list[Row[Any]] = []
            if free > 0 or acks:
                try:
                    if claim_lost:
                        await self._release_lost_claims(queue, acks)
                        claim_lost = False
                    claimed = list(
                        await claim.claim_jobs(
                            self.database, queue, free, self.id, [(ack.job_id, ack.values) for ack in acks]
                        )
                    )
                    if self._database_lost:
                        self._database_lost = False
                        logger.warning("database is back: jobs resume")
                except Exception as exc:
                    self._log_failure("claiming jobs failed", exc, queue=queue)
                    if self._stopping:
                        # Unwritten outcomes are not lost: the reaper gives those jobs another run.
                        return
                    self._acks[queue][:0] = acks
                    claim_lost = True
                    await asyncio.sleep(self._poll_interval)
                    continue
            if any(ack.concurrency_key is not None for ack in acks):
                # A finished keyed job frees its key for every queue, now that its state is written (this
                # queue's own claim above already saw it).
                self._wake_all_soon()
            for rows in _runs(claimed):
                task = asyncio.create_task(self._run(rows), name=f"nexa-job-{rows[0].id}")
                for row in rows:
                    self._running[queue][row.id] = task
                    task.add_done_callback(lambda _task, job_id=row.id: self._release(queue, job_id))
            backlog = free > 0 and len(claimed) == free
            if backlog:
                # A full batch suggests more is waiting; go again as soon as a slot frees.
                continue
            try:
                await asyncio.wait_for(wake.wait(), self._poll_interval)
            except TimeoutError:
                pass

    async def _release_lost_claims(self, queue: str, acks: list[_Outcome]) -> None:
        held = [*self._running[queue], *(ack.job_id for ack in acks)]
        released = await claim.release_lost_claims(self.database, queue, self.id, held)
        if released:
            logger.warning("released jobs a lost claim had taken", extra={"queue": queue, "count": released})

    async def _cool_down(self, queue: str, until: float, backlog: bool) -> None:
        """Wait until `until` (the cooldown after the last claim), so that jobs finishing meanwhile free their
        slots for one claim; with a backlog, only while some of the last batch still runs: once it is all
        done there is nothing left to gather, and waiting would cap a queue at one batch per cooldown."""
        loop = asyncio.get_running_loop()
        wake = self._wake[queue]
        while (left := until - loop.time()) > 0 and not self._stopping:
            if not backlog:
                await asyncio.sleep(left)
                return
            if not self._running[queue]:
                return
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), left)
            except TimeoutError:
                return

    def _log_failure(self, message: str, exc: Exception, **extra: Any) -> None:
        # An outage fails every poll of every queue and every maintenance pass: one line for it, not a
        # traceback per poll.
        if isinstance(exc, DatabaseUnavailable) or database_unreachable(exc):
            if not self._database_lost:
                self._database_lost = True
                logger.warning("database unavailable: jobs paused until it is back", extra={"error": str(exc)})
            return
        logger.exception(message, extra=extra)

    def _release(self, queue: str, job_id: int) -> None:
        self._running[queue].pop(job_id, None)
        self._wake[queue].set()

    async def _run(self, rows: list[Row[Any]]) -> None:
        """Run one job, or one chunk of a chunked kind, and queue the outcomes to write."""
        first = rows[0]
        job_token = job_id_var.set(first.id if len(rows) == 1 else None)
        account_token = account_id_var.set(first.account_id if all(row.account_id == first.account_id for row in rows) else None)
        started = time.monotonic()
        try:
            outcomes = await self._execute(rows)
        finally:
            account_id_var.reset(account_token)
            job_id_var.reset(job_token)
        elapsed = time.monotonic() - started
        for row, outcome in zip(rows, outcomes, strict=True):
            metrics.record_finished(row.kind, outcome.state, elapsed)
            self._acks[row.queue].append(outcome)

    async def _execute(self, rows: list[Row[Any]]) -> list[_Outcome]:
        spec = get_job(rows[0].kind)
        if spec is None:
            reason = f"unknown job kind {rows[0].kind!r}: no handler registered (is its module in JOB_MODULES?)"
            logger.error(reason, extra={"kind": rows[0].kind})
            return [self._discard(row, reason) for row in rows]
        failures: ChunkFailures
        try:
            async with asyncio.timeout(spec.timeout):
                for account_id in {row.account_id for row in rows}:
                    await self._refresh_account_facts(account_id)
                if spec.chunked:
                    failures = await spec.handler([ChunkJob(self._context(row), row.args) for row in rows])
                else:
                    (row,) = rows
                    result = await spec.handler(self._context(row), **row.args)
                    failures = {row.id: result} if isinstance(result, Snooze) else {}
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            return [self._fail(row, "worker stopped before the job finished", None) for row in rows]
        except TimeoutError as exc:
            message = f"timed out after {spec.timeout}s" if spec.timeout else f"TimeoutError: {exc}"
            return [self._fail(row, message, traceback.format_exc()) for row in rows]
        except Exception as exc:
            return [self._settle(row, exc) for row in rows]
        return [
            self._settle(row, failures[row.id]) if row.id in failures else _Outcome(row.id, COMPLETED, row.concurrency_key)
            for row in rows
        ]

    def _context(self, row: Row[Any]) -> JobContext:
        return JobContext(
            job_id=row.id,
            kind=row.kind,
            queue=row.queue,
            attempt=row.attempt,
            max_attempts=row.max_attempts,
            account_id=row.account_id,
            database=self.database,
            logger=_job_logger(row.kind),
            concurrency_key=row.concurrency_key,
        )

    def _settle(self, row: Row[Any], reason: BaseException) -> _Outcome:
        """The outcome of a job that did not complete, by what stopped it."""
        if isinstance(reason, Snooze):
            return self._snooze(row, reason.seconds)
        if isinstance(reason, Discard):
            return self._discard(row, reason.reason)
        if isinstance(reason, Cancel):
            return self._cancel(row, reason.reason)
        trace = "".join(traceback.format_exception(reason))
        return self._fail(row, f"{type(reason).__name__}: {reason}", trace)

    async def _refresh_account_facts(self, account_id: int | None) -> None:
        # Jobs record their account's events (webhooks, automation); with the facts fresh, they skip the
        # outbox rows nothing consumes instead of writing them as the safe default (nexa.kit.account_facts).
        # One short read per account every few seconds; none while the facts are fresh.
        if account_id is not None and account_facts.any_to_refresh(account_id):
            async with self.database.session(write=False) as session:
                await account_facts.refresh_all(session, account_id)

    def _fail(self, row: Row[Any], error: str, trace: str | None) -> _Outcome:
        now = utcnow()
        errors = [*json.loads(row.errors_json), _error(row.attempt, error, trace)]
        if row.attempt >= row.max_attempts:
            logger.error("job failed for the last time, discarded", extra={"kind": row.kind, "error": error})
            return self._outcome(row, DISCARDED, errors=errors, discarded_at=now)
        spec = get_job(row.kind)
        delay = spec.backoff(row.attempt) if spec else 0.0
        logger.warning("job failed, will retry", extra={"kind": row.kind, "error": error, "retry_in": delay})
        return self._outcome(row, RETRYABLE, errors=errors, scheduled_at=now + timedelta(seconds=delay))

    def _snooze(self, row: Row[Any], seconds: float) -> _Outcome:
        meta = json.loads(row.meta_json)
        meta["snoozed"] = int(meta.get("snoozed", 0)) + 1
        # The attempt is given back: snoozing is waiting, not failing.
        return self._outcome(
            row,
            SCHEDULED,
            attempt=row.attempt - 1,
            meta=meta,
            scheduled_at=utcnow() + timedelta(seconds=seconds),
        )

    def _discard(self, row: Row[Any], reason: str) -> _Outcome:
        errors = [*json.loads(row.errors_json), _error(row.attempt, reason, None)]
        return self._outcome(row, DISCARDED, errors=errors, discarded_at=utcnow())

    def _cancel(self, row: Row[Any], reason: str) -> _Outcome:
        errors = [*json.loads(row.errors_json), _error(row.attempt, f"cancelled: {reason}", None)]
        return self._outcome(row, CANCELLED, errors=errors, cancelled_at=utcnow())

    @staticmethod
    def _outcome(row: Row[Any], state: str, **values: Any) -> _Outcome:
        return _Outcome(row.id, state, row.concurrency_key, {"state": state, **values})

    # -- maintenance -------------------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_heartbeat = next_rescue = next_metrics = loop.time()
        rescue_interval = max(self._rescue_after / 2, self._poll_interval)
        while True:
            try:
                for queue in await claim.stage_jobs(self.database):
                    self._on_enqueue(queue)
                now = loop.time()
                if now >= next_heartbeat:
                    next_heartbeat = now + self._heartbeat_interval
                    await self._heartbeat()
                if now >= next_rescue:
                    next_rescue = now + rescue_interval
                    rescued = await claim.rescue_jobs(self.database, self._rescue_after)
                    if rescued:
                        logger.warning("rescued orphaned jobs", extra={"count": rescued})
                        self._wake_all()
                if now >= next_metrics:
                    next_metrics = now + _METRICS_INTERVAL
                    await metrics.refresh_queue_metrics(self.database)
                await self._listen()
            except Exception as exc:
                self._log_failure("job maintenance failed", exc)
            await asyncio.sleep(min(self._poll_interval, self._heartbeat_interval))

    async def _heartbeat(self) -> None:
        ids = [job_id for tasks in self._running.values() for job_id in tasks]
        # Jobs whose outcome is not written yet are still executing in the table: keep them alive too.
        ids += [outcome.job_id for outcomes in self._acks.values() for outcome in outcomes]
        if ids:
            await claim.heartbeat_jobs(self.database, ids, self.id)


def _runs(claimed: list[Row[Any]]) -> list[list[Row[Any]]]:
    """The claimed jobs as runs: one per job, but one for all the jobs of a chunked kind."""
    runs: list[list[Row[Any]]] = []
    chunks: dict[str, list[Row[Any]]] = {}
    for row in claimed:
        spec = get_job(row.kind)
        if spec is not None and spec.chunked:
            chunk = chunks.get(row.kind)
            if chunk is None:
                chunk = chunks[row.kind] = []
                runs.append(chunk)
            chunk.append(row)
        else:
            runs.append([row])
    return runs


@functools.cache
def _job_logger(kind: str) -> logging.Logger:
    return logging.getLogger(f"nexa.jobs.{kind}")


def _error(attempt: int, error: str, trace: str | None) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "at": utcnow().isoformat(),
        "error": error,
        "traceback": trace[-_TRACEBACK_LIMIT:] if trace else None,
    }
