"""Workers in separate processes sharing one PostgreSQL database (SKIP LOCKED, LISTEN/NOTIFY, reaper)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from nexa.config import Settings
from nexa.db.engine import Database
from nexa.jobs.enqueue import enqueue
from nexa.jobs.models import Job
from tests.conftest import TEST_DATABASE_URL
from tests.jobs.helpers import runs_table, wait_for, wait_for_state

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres_only,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="NEXA_TEST_DATABASE_URL is not set"),
]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def postgres_db(db: Database, backend: str) -> Database:
    if backend != "postgres":
        pytest.skip("several worker processes need PostgreSQL")
    return db


@pytest.fixture
def spawn_worker(postgres_db: Database, database_url: str) -> Iterator[object]:
    """Start `python -m nexa.jobs.cli worker` processes on the test database; all are reaped at the end."""
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(**env: str) -> subprocess.Popen[bytes]:
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NEXA_DATABASE_URL": database_url,
            "NEXA_JOB_MODULES": "tests.jobs.sample_jobs",
            "NEXA_WORKER_QUEUES": "default:10",
            "NEXA_WORKER_POLL_INTERVAL": "0.1",
            "NEXA_LOG_LEVEL": "WARNING",
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "nexa.jobs.cli", "worker", "--shutdown-timeout", "5"],
            cwd=ROOT,
            env=environment,
        )
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _completed(db: Database) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(Job.state == "completed")) or 0)


async def _listening_workers(db: Database, count: int) -> bool:
    """Whether `count` workers have started: each LISTENs for new jobs once it runs."""
    async with db.session(write=False) as session:
        listening = await session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
        ))
    return listening == count


async def test_each_job_runs_exactly_once_across_processes(
    postgres_db: Database, spawn_worker, worker_factory, settings: Settings
) -> None:
    db = postgres_db
    total = 2_000  # enough for all three workers to contend for every claim; more only adds time
    async with runs_table(db):
        workers = [spawn_worker(), spawn_worker()]
        # Both processes up before any job exists: under a loaded suite one of them used to start after the
        # others had run all 2,000.
        await wait_for(lambda: _listening_workers(db, 2), timeout=60)
        await worker_factory(settings.model_copy(update={"worker_queues": "default:10"}))
        for start in range(0, total, 500):
            async with db.session() as session:
                for n in range(start, start + 500):
                    await enqueue(session, "test.db_record", {"n": n})

        async def all_done() -> bool:
            return await _completed(db) == total

        await wait_for(all_done, timeout=45)
        async with db.session(write=False) as session:
            runs, distinct = (await session.execute(text("SELECT count(*), count(DISTINCT n) FROM job_runs"))).one()
            by_worker = dict(
                (await session.execute(select(Job.attempted_by, func.count()).group_by(Job.attempted_by))).all()
            )
        assert (runs, distinct) == (total, total)
        assert len(by_worker) == 3, by_worker  # both processes and the in-process worker took a share
        for process in workers:
            assert process.poll() is None


async def test_killed_worker_job_is_rescued_by_another_worker(postgres_db: Database, spawn_worker) -> None:
    db = postgres_db
    quick = {"NEXA_JOB_RESCUE_AFTER_SECONDS": "1"}
    async with runs_table(db):
        victim = spawn_worker(**quick)
        async with db.session() as session:
            job = await enqueue(session, "test.db_record", {"n": 1, "sleep": 1.0})
        claimed = await wait_for_state(db, job.id, "executing", timeout=20)
        assert claimed.attempted_by and f":{victim.pid}:" in claimed.attempted_by
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=5)
        killed_at = time.monotonic()

        rescuer = spawn_worker(**quick)
        done = await wait_for_state(db, job.id, "completed", timeout=20)
        assert time.monotonic() - killed_at < 20
        assert done.attempt == 2
        assert f":{rescuer.pid}:" in (done.attempted_by or "")
        assert "stopped heartbeating" in done.errors[0]["error"]
        async with db.session(write=False) as session:
            runs = (await session.execute(text("SELECT n, attempt FROM job_runs"))).all()
        assert [tuple(run) for run in runs] == [(1, 2)]  # the killed attempt never got to record
