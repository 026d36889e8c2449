"""`python -m nexa.jobs.cli`: the worker runs jobs and both commands stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from nexa.db.engine import Database
from nexa.jobs.enqueue import enqueue
from tests.jobs.helpers import wait_for_state

ROOT = Path(__file__).resolve().parents[2]


def _start(command: str, database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEXA_DATABASE_URL": database_url,
        "NEXA_JOB_MODULES": "tests.jobs.sample_jobs",
        "NEXA_WORKER_POLL_INTERVAL": "0.1",
        "NEXA_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "nexa.jobs.cli", command], cwd=ROOT, env=env)


async def test_worker_and_scheduler_commands(db: Database, database_url: str) -> None:
    worker = _start("worker", database_url)
    scheduler = _start("scheduler", database_url)
    try:
        async with db.session() as session:
            job = await enqueue(session, "test.record", {"n": 1})
        done = await wait_for_state(db, job.id, "completed", timeout=20)
        assert f":{worker.pid}:" in (done.attempted_by or "")
    finally:
        for process in (worker, scheduler):
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=15) for process in (worker, scheduler)]
    assert codes == [0, 0]
