from __future__ import annotations

import asyncio
import collections
import logging
import socket
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text, update

from nexa.config import Settings
from nexa.db.engine import Database
from nexa.jobs import claim
from nexa.jobs.backoff import default_backoff
from nexa.jobs.enqueue import NewJob, add_job, enqueue, insert_jobs
from nexa.jobs.metrics import refresh_queue_metrics
from nexa.jobs.models import Job
from nexa.jobs.scheduler import enqueue_recurring, prune_jobs
from nexa.jobs.worker import Worker
from nexa.kit import account_facts
from nexa.kit.clock import utcnow
from nexa.tenancy.models import Account
from nexa.webhooks.outbox import FANOUT_JOB
from tests.jobs import sample_jobs
from tests.jobs.helpers import get_job, runs_table, wait_for, wait_for_state


async def _count(db: Database, *where: object) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(*where)) or 0)


async def test_enqueue_in_rolled_back_transaction_leaves_no_job(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await enqueue(session, "test.record", {"n": 1})
            raise RuntimeError("the caller's work failed")
    assert await _count(db) == 0


async def test_added_jobs_are_written_at_commit_and_follow_savepoints(db: Database) -> None:
    """`add_job` keeps jobs in the session: a savepoint rolled back drops the ones added inside it (and only
    those), a released one keeps them, and a rollback of the transaction drops all of them."""
    async with db.session() as session:
        add_job(session, "test.record", {"n": 1}, concurrency_key="first")
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                add_job(session, "test.record", {"n": 2})
                async with session.begin_nested():
                    add_job(session, "test.record", {"n": 3})
                raise RuntimeError("undo the savepoint")
        async with session.begin_nested():
            add_job(session, "test.record", {"n": 4}, queue="alpha", account_id=None)
        add_job(session, "test.record", {"n": 5}, max_attempts=2)
        assert await _count(db) == 0  # nothing before the commit
    async with db.session(write=False) as session:
        written = (await session.execute(
            select(Job.args, Job.queue, Job.max_attempts, Job.concurrency_key, Job.state).order_by(Job.id)
        )).all()
    assert [tuple(row) for row in written] == [
        ({"n": 1}, "default", 20, "first", "available"),
        ({"n": 4}, "alpha", 20, None, "available"),
        ({"n": 5}, "default", 2, None, "available"),
    ]

    with pytest.raises(RuntimeError):
        async with db.session() as session:
            add_job(session, "test.record", {"n": 6})
            raise RuntimeError("the caller's work failed")
    assert await _count(db) == 3


async def test_enqueue_fills_defaults_from_the_job_definition(db: Database) -> None:
    async with db.session() as session:
        job = await enqueue(session, "test.fail_default_backoff", {}, account_id=7)
    stored = await get_job(db, job.id)
    assert (stored.queue, stored.priority, stored.max_attempts, stored.state) == ("default", 5, 5, "available")
    assert stored.account_id == 7 and stored.attempt == 0 and stored.errors == []


async def test_insert_jobs_stores_many_jobs_with_one_execution(db: Database) -> None:
    executions: list[bool] = []

    def record(_conn: object, _cursor: object, statement: str, _params: object, _context: object, executemany: bool) -> None:
        if statement.startswith("INSERT INTO jobs"):
            executions.append(executemany)

    jobs = [NewJob({"n": 1, "text": "olá"}, account_id=7, concurrency_key="k:1"), NewJob({"n": 2}), NewJob({"n": 3}, account_id=8)]
    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as session:
            await insert_jobs(session, "test.fail_default_backoff", jobs)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    async with db.session(write=False) as session:
        stored = (await session.scalars(select(Job).order_by(Job.id))).all()
    assert [(job.args, job.account_id, job.concurrency_key) for job in stored] == [
        ({"n": 1, "text": "olá"}, 7, "k:1"), ({"n": 2}, None, None), ({"n": 3}, 8, None)
    ]
    assert {(job.kind, job.queue, job.priority, job.max_attempts, job.state, job.attempt) for job in stored} == {
        ("test.fail_default_backoff", "default", 5, 5, "available", 0)
    }
    assert all(job.errors == [] and job.meta == {} and job.scheduled_at == job.inserted_at for job in stored)
    if db.is_postgres:
        # One statement run once, not once per job (an executemany): PostgreSQL executes an INSERT, and the
        # NOTIFY trigger on it, for each execution.
        assert executions == [False]


async def test_outcomes_commit_without_waiting_for_the_disk_and_only_their_transaction_does(
    db: Database, database_url: str, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("synchronous_commit is PostgreSQL's")
    single = Database(database_url, pool_size=1)  # the acknowledging connection is the next session's
    statements: list[str] = []
    try:
        async with single.session() as session:
            job = await enqueue(session, "test.record", {"n": 1})
        [claimed] = await claim.claim_jobs(single, "default", 1, "worker-a")
        event.listen(single.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        assert await claim.claim_jobs(single, "default", 0, "worker-a", acks=[(claimed.id, {})]) == []
        async with single.session() as session:
            assert await session.scalar(text("SHOW synchronous_commit")) == "on"
    finally:
        await single.dispose()
    assert statements[0] == "SET LOCAL synchronous_commit TO OFF"
    assert (await get_job(db, job.id)).state == "completed"


async def test_dedupe_key_returns_the_live_job(db: Database, worker_factory) -> None:
    async with db.session() as session:
        first = await enqueue(session, "test.record", {"n": 1}, dedupe_key="k1")
        again = await enqueue(session, "test.record", {"n": 2}, dedupe_key="k1")
    assert again.id == first.id

    async def enqueue_one(n: int) -> int:
        async with db.session() as session:
            return (await enqueue(session, "test.record", {"n": n}, dedupe_key="k1")).id

    ids = await asyncio.gather(*(enqueue_one(n) for n in range(5)))
    assert set(ids) == {first.id}
    assert await _count(db) == 1

    await worker_factory()
    await wait_for_state(db, first.id, "completed")
    # Once the job is finished the key is free again.
    async with db.session() as session:
        later = await enqueue(session, "test.record", {"n": 3}, dedupe_key="k1")
    assert later.id != first.id
    await wait_for_state(db, later.id, "completed")
    assert [args["n"] for _, args in sample_jobs.RAN] == [1, 3]


async def test_replace_scheduled_moves_the_waiting_job_but_leaves_a_due_one(db: Database) -> None:
    async with db.session() as session:
        waiting = await enqueue(session, "test.record", {"n": 1}, dedupe_key="k1", schedule_in=60)
    async with db.session() as session:
        replaced = await enqueue(session, "test.record", {"n": 2}, dedupe_key="k1", schedule_in=600, replace_scheduled=True)
    assert replaced.id == waiting.id
    async with db.session(write=False) as session:
        stored = await session.get(Job, waiting.id)
        assert stored.args == {"n": 2} and stored.state == "scheduled"
        assert stored.scheduled_at - utcnow() > timedelta(seconds=500)

    async with db.session() as session:
        await session.execute(update(Job).where(Job.id == waiting.id).values(state="available", scheduled_at=utcnow()))
    async with db.session() as session:
        kept = await enqueue(session, "test.record", {"n": 3}, dedupe_key="k1", schedule_in=60, replace_scheduled=True)
    assert kept.id == waiting.id
    async with db.session(write=False) as session:
        stored = await session.get(Job, waiting.id)
        assert stored.args == {"n": 2} and stored.state == "available"
    assert await _count(db) == 1

    with pytest.raises(ValueError):
        async with db.session() as session:
            await enqueue(session, "test.record", {"n": 4}, dedupe_key="k2", replace_scheduled=True)


async def test_insert_jobs_with_dedupe_keys_replaces_waiting_twins_and_leaves_due_ones(db: Database) -> None:
    async with db.session() as session:
        waiting = await enqueue(session, "test.record", {"n": 1}, dedupe_key="waiting", schedule_in=60)
        due = await enqueue(session, "test.record", {"n": 2}, dedupe_key="due")
    jobs = [NewJob({"n": 3}, dedupe_key="waiting"), NewJob({"n": 4}, dedupe_key="due"), NewJob({"n": 5}, dedupe_key="new")]
    async with db.session() as session:
        await insert_jobs(session, "test.record", jobs, schedule_in=600, replace_scheduled=True)

    async with db.session(write=False) as session:
        stored = {job.dedupe_key: job for job in (await session.scalars(select(Job))).all()}
    assert set(stored) == {"waiting", "due", "new"}
    assert (stored["waiting"].id, stored["waiting"].args, stored["waiting"].state) == (waiting.id, {"n": 3}, "scheduled")
    assert stored["waiting"].scheduled_at - utcnow() > timedelta(seconds=500)
    assert (stored["due"].id, stored["due"].args, stored["due"].state) == (due.id, {"n": 2}, "available")
    assert (stored["new"].args, stored["new"].state) == ({"n": 5}, "scheduled")

    # Without replacing, a live twin keeps its job whatever its state.
    async with db.session() as session:
        await insert_jobs(session, "test.record", [NewJob({"n": 6}, dedupe_key="waiting"), NewJob({"n": 7}, dedupe_key="other")])
    async with db.session(write=False) as session:
        assert (await session.get(Job, waiting.id)).args == {"n": 3}
    assert await _count(db) == 4

    with pytest.raises(ValueError, match="different dedupe keys"):
        async with db.session() as session:
            await insert_jobs(session, "test.record", [NewJob({"n": 8}, dedupe_key="k"), NewJob({"n": 9}, dedupe_key="k")])
    with pytest.raises(ValueError, match="scheduled for later"):
        async with db.session() as session:
            await insert_jobs(session, "test.record", [NewJob({"n": 10}, dedupe_key="k")], replace_scheduled=True)


async def test_priority_then_schedule_order(db: Database, settings: Settings, worker_factory) -> None:
    async with db.session() as session:
        for n, priority in [(1, 9), (2, 5), (3, 0), (4, 5), (5, 0)]:
            await enqueue(session, "test.record", {"n": n}, priority=priority)
    await worker_factory(settings.model_copy(update={"worker_queues": "default:1"}))
    await wait_for(lambda: _ran(5))
    assert [args["n"] for _, args in sample_jobs.RAN] == [3, 5, 2, 4, 1]


async def _ran(n: int) -> bool:
    return len(sample_jobs.RAN) >= n


async def test_scheduled_jobs_wait_for_their_time(db: Database, worker_factory) -> None:
    async with db.session() as session:
        # Longer than a worker's cold start on a loaded machine, so "not yet" below means "not before its time".
        later = await enqueue(session, "test.record", {"n": "later"}, schedule_in=2.0)
        now = await enqueue(session, "test.record", {"n": "now"})
    assert later.state == "scheduled"
    await worker_factory()
    await wait_for_state(db, now.id, "completed")
    looked_at = utcnow()
    if looked_at < later.scheduled_at:  # else this machine took the 2 s to start a worker and run a job
        assert (await get_job(db, later.id)).state == "scheduled"
    job = await wait_for_state(db, later.id, "completed", timeout=8)
    assert job.attempted_at is not None and job.attempted_at >= later.scheduled_at


async def test_failures_retry_then_discard_after_max_attempts(db: Database, worker_factory) -> None:
    async with db.session() as session:
        failing = await enqueue(session, "test.fail", {}, max_attempts=3)
        flaky = await enqueue(session, "test.flaky", {"succeed_on": 2})
    await worker_factory()
    job = await wait_for_state(db, failing.id, "discarded")
    assert job.attempt == 3 and job.discarded_at is not None
    assert [error["attempt"] for error in job.errors] == [1, 2, 3]
    assert "RuntimeError: boom on attempt 3" in job.errors[-1]["error"]
    assert "Traceback" in job.errors[-1]["traceback"]
    job = await wait_for_state(db, flaky.id, "completed")
    assert job.attempt == 2 and len(job.errors) == 1


async def test_failure_backs_off_exponentially_with_jitter(db: Database, worker_factory) -> None:
    async with db.session() as session:
        failing = await enqueue(session, "test.fail_default_backoff", {})
    await worker_factory()
    job = await wait_for_state(db, failing.id, "retryable")
    assert job.attempted_at is not None
    delay = (job.scheduled_at - job.attempted_at).total_seconds()
    assert 17 * 0.9 - 0.5 <= delay <= 17 * 1.1 + 0.5  # 15 s + 2^1 s, +-10 %
    for attempt in range(1, 30):
        base = min(15 + 2**attempt, 6 * 3600)
        assert 0.9 * base <= default_backoff(attempt) <= 1.1 * base


async def test_snooze_reschedules_without_counting_an_attempt(db: Database, worker_factory) -> None:
    async with db.session() as session:
        returned = await enqueue(session, "test.snooze", {"seconds": 0.2})
        raised = await enqueue(session, "test.snooze", {"seconds": 0.2, "raise_it": True})
    await worker_factory()
    for job_id in (returned.id, raised.id):
        job = await wait_for_state(db, job_id, "completed")
        assert job.attempt == 1 and job.errors == [] and job.meta == {"snoozed": 1}
    assert [args for kind, args in sample_jobs.RAN if kind == "test.snooze"] == [{"attempt": 1}] * 2


async def test_discard_cancel_timeout_and_unknown_kind(db: Database, worker_factory) -> None:
    async with db.session() as session:
        discarded = await enqueue(session, "test.discard", {})
        cancelled = await enqueue(session, "test.cancel", {})
        timed_out = await enqueue(session, "test.timeout", {})
        unknown = await enqueue(session, "test.no_such_kind", {"x": 1})
    await worker_factory()
    job = await wait_for_state(db, discarded.id, "discarded")
    assert job.attempt == 1 and job.errors[-1]["error"] == "the record is gone"
    job = await wait_for_state(db, cancelled.id, "cancelled")
    assert job.cancelled_at is not None and "no longer wanted" in job.errors[-1]["error"]
    job = await wait_for_state(db, timed_out.id, "discarded")
    assert job.errors[-1]["error"] == "timed out after 0.05s"
    job = await wait_for_state(db, unknown.id, "discarded")
    assert "unknown job kind 'test.no_such_kind'" in job.errors[-1]["error"]


async def test_concurrency_key_never_runs_two_at_once(db: Database, worker_factory) -> None:
    async with db.session() as session:
        for n in range(60):
            await enqueue(session, "test.exclusive", {"n": n}, concurrency_key="contact:1")
            await enqueue(session, "test.record", {"n": n})
    workers = [await worker_factory() for _ in range(4)]
    await wait_for(lambda: _count_is(db, 120), timeout=30)
    assert sample_jobs.EXCLUSIVE["max_active"] == 1
    assert sorted(args["n"] for kind, args in sample_jobs.RAN if kind == "test.exclusive") == list(range(60))
    assert len({worker.id for worker in workers}) == 4


async def _count_is(db: Database, n: int) -> bool:
    return await _count(db, Job.state == "completed") == n


async def test_a_key_freed_in_one_queue_lets_another_queue_run_its_job(db: Database, settings: Settings, worker_factory) -> None:
    # Polls far apart: the other queue's job runs because the freed key wakes its queue, not because it polled.
    await worker_factory(settings.model_copy(update={"worker_poll_interval": 30.0}))
    async with db.session() as session:
        holder = await enqueue(session, "test.sleep", {"seconds": 0.3}, concurrency_key="conversation:1")
    await wait_for_state(db, holder.id, "executing")
    async with db.session() as session:
        blocked = await enqueue(session, "test.record", {"n": "after"}, queue="other", concurrency_key="conversation:1")
    await wait_for_state(db, blocked.id, "completed", timeout=5)
    assert [kind for kind, _args in sample_jobs.RAN] == ["test.sleep", "test.record"]


async def test_a_busy_queue_wakes_the_idle_ones_once_per_window_not_at_every_keyed_job(
    db: Database, settings: Settings, worker_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexa.jobs import worker as worker_module

    monkeypatch.setattr(worker_module, "_KEY_RELEASE_WAKE_SECONDS", 0.5)
    claims: collections.Counter[str] = collections.Counter()
    claim_jobs = claim.claim_jobs

    async def counted(database: Database, queue: str, *args: object, **kwargs: object) -> object:
        claims[queue] += 1
        return await claim_jobs(database, queue, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(claim, "claim_jobs", counted)
    async with db.session() as session:
        for n in range(20):  # one key: they run one at a time, each finishing in its own claim round
            await enqueue(session, "test.exclusive", {"n": n}, concurrency_key="conversation:2")
    started = asyncio.get_running_loop().time()
    await worker_factory(settings.model_copy(update={"worker_poll_interval": 30.0}))  # no polls meanwhile
    await wait_for(lambda: _count_is(db, 20), timeout=30)
    elapsed = asyncio.get_running_loop().time() - started
    assert claims["default"] >= 20
    # Its first claim, one per half-second window, and one more for the stop; it used to claim after each of the
    # twenty acknowledgements.
    assert claims["other"] <= 3 + elapsed / 0.5


async def test_concurrent_claims_cannot_both_take_a_key(db: Database) -> None:
    async with db.session() as session:
        for n in range(10):
            await enqueue(session, "test.exclusive", {"n": n}, concurrency_key="k")
    claims = await asyncio.gather(*(claim.claim_jobs(db, "default", 10, f"w{i}") for i in range(8)))
    assert sum(len(rows) for rows in claims) == 1
    assert await _count(db, Job.state == "executing") == 1


async def test_reaper_rescues_jobs_whose_worker_stopped_heartbeating(db: Database, worker_factory) -> None:
    async with db.session() as session:
        orphan = await enqueue(session, "test.record", {"n": "orphan"})
        exhausted = await enqueue(session, "test.record", {"n": "exhausted"}, max_attempts=1)
    stale = utcnow() - timedelta(minutes=5)
    async with db.session() as session:
        await session.execute(
            update(Job)
            .values(state="executing", attempt=1, attempted_by="dead:1", attempted_at=stale, heartbeat_at=stale)
            .execution_options(synchronize_session=False)
        )
    await worker_factory()
    job = await wait_for_state(db, orphan.id, "completed")
    assert job.attempt == 2 and "dead:1 stopped heartbeating" in job.errors[0]["error"]
    job = await wait_for_state(db, exhausted.id, "discarded")
    assert job.attempt == 1
    assert [args["n"] for _, args in sample_jobs.RAN] == ["orphan"]


async def test_a_claim_whose_answer_was_lost_is_released_at_the_next_claim(
    db: Database, worker_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops after the database committed a claim: the worker never saw those jobs. Its next
    claim gives them back at once, instead of leaving them (and their keys) to the reaper's window (30 s
    here, 90 s by default)."""
    real_claim = claim.claim_jobs
    lost: list[int] = []

    async def answer_lost_once(database: Database, queue: str, limit: int, worker_id: str, acks=()):  # type: ignore[no-untyped-def]
        rows = await real_claim(database, queue, limit, worker_id, acks)
        if rows and not lost:
            lost.extend(row.id for row in rows)
            raise ConnectionResetError("connection lost before the claim's answer came")
        return rows

    monkeypatch.setattr(claim, "claim_jobs", answer_lost_once)
    async with db.session() as session:
        first = await enqueue(session, "test.record", {"n": 1}, concurrency_key="shard:1")
        second = await enqueue(session, "test.record", {"n": 2}, concurrency_key="shard:1")
    await worker_factory()
    done = await wait_for_state(db, second.id, "completed", timeout=8)
    assert lost == [first.id]
    assert (await get_job(db, first.id)).attempt == 1 and done.attempt == 1
    assert [args["n"] for _, args in sample_jobs.RAN] == [1, 2]


async def test_running_jobs_heartbeat_so_they_are_not_rescued(
    db: Database, settings: Settings, worker_factory
) -> None:
    # The job outlives two rescue windows; a window three beats long leaves room for a late beat on a
    # loaded machine (0.6 s failed under a load average of 10).
    quick = settings.model_copy(update={"job_rescue_after_seconds": 2.0})
    async with db.session() as session:
        job = await enqueue(session, "test.db_record", {"n": 1, "sleep": 4.5})
    async with runs_table(db):
        await worker_factory(quick)
        await worker_factory(quick)
        done = await wait_for_state(db, job.id, "completed", timeout=20)
        assert done.attempt == 1 and done.errors == []


async def test_cron_runs_are_enqueued_once_by_concurrent_schedulers(db: Database) -> None:
    start = utcnow().replace(second=30, microsecond=0) - timedelta(minutes=10)
    until = start + timedelta(minutes=3)  # three minute boundaries
    created = await asyncio.gather(
        *(enqueue_recurring(db, since=start, until=until) for _ in range(3))
    )
    cron = Job.kind == "test.cron"
    assert await _count(db, cron) == 3
    assert sum(created) >= 3
    # Finished runs still count: a scheduler restarted later in the same minute adds nothing.
    async with db.session() as session:
        await session.execute(
            update(Job).where(cron).values(state="completed", completed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    await enqueue_recurring(db, since=start, until=until)
    assert await _count(db, cron) == 3
    async with db.session(write=False) as session:
        keys = sorted((await session.scalars(select(Job.dedupe_key).where(cron))).all())
    assert keys[0] == f"cron:test.cron:{start + timedelta(seconds=30):%Y-%m-%dT%H:%MZ}"


async def test_prune_deletes_only_old_finished_jobs(db: Database) -> None:
    old = utcnow() - timedelta(days=8)
    async with db.session() as session:
        jobs = [await enqueue(session, "test.record", {"n": n}) for n in range(5)]
    finished = [
        {"state": "completed", "completed_at": old},
        {"state": "discarded", "discarded_at": old},
        {"state": "cancelled", "cancelled_at": old},
        {"state": "completed", "completed_at": utcnow()},
    ]
    async with db.session() as session:
        for job, values in zip(jobs, finished, strict=False):
            await session.execute(
                update(Job).where(Job.id == job.id).values(**values)
                .execution_options(synchronize_session=False)
            )
    assert await prune_jobs(db, timedelta(days=7)) == 3
    async with db.session(write=False) as session:
        left = sorted((await session.scalars(select(Job.id))).all())
    assert left == [jobs[3].id, jobs[4].id]


async def test_queue_metrics(db: Database) -> None:
    async with db.session() as session:
        await enqueue(session, "test.record", {}, queue="other", scheduled_at=utcnow() - timedelta(seconds=30))
        await enqueue(session, "test.record", {}, queue="other")
        await enqueue(session, "test.record", {}, schedule_in=60)
    found = await refresh_queue_metrics(db)
    assert set(found) == {"other"}
    depth, age = found["other"]
    assert depth == 2 and 29 <= age <= 60


async def test_graceful_stop_finishes_quick_jobs_and_gives_up_slow_ones(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        quick = await enqueue(session, "test.sleep", {"seconds": 0.2})
        slow = await enqueue(session, "test.sleep", {"seconds": 30})
    worker = Worker(db, settings)
    await worker.start()
    await wait_for_state(db, slow.id, "executing")
    await worker.stop(timeout=0.5)
    assert (await get_job(db, quick.id)).state == "completed"
    job = await get_job(db, slow.id)
    assert job.state == "retryable" and job.attempt == 1
    assert job.errors[-1]["error"] == "worker stopped before the job finished"


async def test_many_deduplicated_enqueues_on_one_connection(db: Database) -> None:
    """PostgreSQL switches a prepared statement to a generic plan after five runs; ON CONFLICT must still
    find the partial unique index then (its predicate has to be literal, not bound)."""
    async with db.session() as session:
        jobs = [await enqueue(session, "tests.noop", {}, dedupe_key=f"generic-plan-{n}") for n in range(12)]
        again = await enqueue(session, "tests.noop", {}, dedupe_key="generic-plan-11")
    assert len({job.id for job in jobs}) == 12
    assert again.id == jobs[-1].id


async def test_a_database_outage_is_one_warning_not_a_traceback_per_poll(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # A PostgreSQL URL on a port nobody listens on: a database that is down for the whole test.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = Database(f"postgresql+asyncpg://nexa@127.0.0.1:{port}/nexa")
    worker = Worker(database, settings)
    try:
        with caplog.at_level(logging.WARNING, logger="nexa.jobs.worker"):
            await worker.start()
            await asyncio.sleep(20 * settings.worker_poll_interval)
            await worker.stop(timeout=5)
    finally:
        await database.dispose()
    messages = [record.getMessage() for record in caplog.records if record.name == "nexa.jobs.worker"]
    assert messages.count("database unavailable: jobs paused until it is back") == 1, messages
    assert not [m for m in messages if m in ("claiming jobs failed", "job maintenance failed")], messages


async def test_a_job_with_stale_account_facts_writes_no_outbox_rows_nothing_consumes(
    db: Database, worker_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.session() as session:
        account = Account(name="No webhooks")
        session.add(account)
    # Nothing known about the account in this process, as in a worker that has not met it yet (or whose
    # facts expired): the worker must load them before the job, not let it write the outbox rows (the safe
    # default when a fact is unknown).
    for fact in account_facts._FACTS:
        monkeypatch.setattr(fact, "_values", {})
        monkeypatch.setattr(fact, "_unsettled", {})
    assert account_facts.any_to_refresh(account.id)
    async with db.session() as session:
        job = await enqueue(session, "test.record_account_event", account_id=account.id)
    await worker_factory()
    await wait_for_state(db, job.id, "completed")
    assert await _count(db, Job.kind == FANOUT_JOB) == 0


async def test_claims_wait_the_cooldown_except_when_a_backlog_batch_is_all_done(
    db: Database, settings: Settings, worker_factory
) -> None:
    slow_claims = settings.model_copy(update={"worker_dispatch_cooldown": 0.6, "worker_queues": "default:5"})
    async with db.session() as session:
        for n in range(50):
            await enqueue(session, "test.record", {"n": n})
    started = asyncio.get_running_loop().time()
    await worker_factory(slow_claims, queues=["default"])
    await wait_for(lambda: _all_ran(50), timeout=15)
    # Ten full batches of quick jobs, each claimed as soon as the one before was done: a cooldown between
    # claims would take at least 9 x 0.6 s.
    assert asyncio.get_running_loop().time() - started < 4.0

    async with db.session() as session:
        lone = await enqueue(session, "test.record", {"n": 50})
    await wait_for(lambda: _all_ran(51), timeout=10)
    async with db.session() as session:
        again = await enqueue(session, "test.record", {"n": 51})
    await wait_for(lambda: _all_ran(52), timeout=10)
    # No backlog: the next claim waits the cooldown, so that jobs arriving meanwhile share it.
    first, second = await get_job(db, lone.id), await get_job(db, again.id)
    assert first.attempted_at is not None and second.attempted_at is not None
    assert (second.attempted_at - first.attempted_at).total_seconds() >= 0.5


async def _all_ran(count: int) -> bool:
    return len(sample_jobs.RAN) >= count


async def test_a_chunked_kind_gets_the_jobs_of_one_claim_together_and_settles_each(db: Database, worker_factory) -> None:
    async with db.session() as session:
        done = [await enqueue(session, "test.chunk", {"n": n}) for n in range(3)]
        keyed = [await enqueue(session, "test.chunk", {"n": n}, concurrency_key="conversation:1") for n in (3, 4)]
        snoozed = await enqueue(session, "test.chunk", {"outcome": "snooze"})
        discarded = await enqueue(session, "test.chunk", {"outcome": "discard"})
        cancelled = await enqueue(session, "test.chunk", {"outcome": "cancel"})
        failed = await enqueue(session, "test.chunk", {"outcome": "fail"})
        plain = await enqueue(session, "test.record", {"n": 99})
    await worker_factory()
    for job in [*done, *keyed]:
        assert (await wait_for_state(db, job.id, "completed")).attempt == 1
    job = await wait_for_state(db, snoozed.id, "completed")
    assert job.attempt == 1 and job.meta == {"snoozed": 1}
    job = await wait_for_state(db, discarded.id, "discarded")
    assert job.errors[-1]["error"] == "no such record"
    job = await wait_for_state(db, cancelled.id, "cancelled")
    assert "not wanted" in job.errors[-1]["error"]
    job = await wait_for_state(db, failed.id, "discarded")  # max_attempts=2: failed twice, retried once
    assert [error["error"] for error in job.errors] == ["RuntimeError: this one broke"] * 2
    assert "this one broke" in job.errors[-1]["traceback"]
    await wait_for_state(db, plain.id, "completed")
    # The first claim took every chunk job but the second of the key (never two of one key at once), as
    # one chunk; the plain job ran on its own.
    first = sample_jobs.CHUNKS[0]
    assert keyed[1].id not in first and set(first) == {
        job.id for job in [*done, keyed[0], snoozed, discarded, cancelled, failed]
    }
    assert any(keyed[1].id in chunk for chunk in sample_jobs.CHUNKS[1:])
    assert sorted(args["n"] for kind, args in sample_jobs.RAN if kind == "test.chunk" and "n" in args) == [0, 1, 2, 3, 4]


async def test_a_chunk_that_raises_fails_every_job_in_it(db: Database, worker_factory) -> None:
    async with db.session() as session:
        jobs = [await enqueue(session, "test.chunk", {"n": n}) for n in range(2)]
        breaker = await enqueue(session, "test.chunk", {"raise_all": True})
    await worker_factory()
    for job in [*jobs, breaker]:
        failed = await wait_for_state(db, job.id, "discarded")
        assert failed.errors[0]["error"] == "RuntimeError: the whole chunk broke"
    assert sample_jobs.CHUNKS[0] == sorted(job.id for job in [*jobs, breaker])
