"""`python -m nexa.jobs.cli`: the worker runs jobs and both commands stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nexa.db.engine import Database
from nexa.jobs.enqueue import enqueue
from tests.jobs.helpers import wait_for_state

ROOT = Path(__file__).resolve().parents[2]


def _start(command: str, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEXA_DATABASE_URL": database_url,
        "NEXA_JOB_MODULES": "tests.jobs.sample_jobs",
        "NEXA_WORKER_POLL_INTERVAL": "0.1",
        "NEXA_LOG_LEVEL": "INFO",
    }
    with log.open("wb") as stderr:
        return subprocess.Popen([sys.executable, "-m", "nexa.jobs.cli", command], cwd=ROOT, env=env, stderr=stderr)


async def _wait_for_log(log: Path, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{text!r} not logged within {timeout}s:\n{log.read_text()}"
        await asyncio.sleep(0.05)


async def test_worker_and_scheduler_commands(db: Database, database_url: str, tmp_path: Path) -> None:
    worker = _start("worker", database_url, tmp_path / "worker.log")
    scheduler = _start("scheduler", database_url, tmp_path / "scheduler.log")
    try:
        async with db.session() as session:
            job = await enqueue(session, "test.record", {"n": 1})
        done = await wait_for_state(db, job.id, "completed", timeout=20)
        assert f":{worker.pid}:" in (done.attempted_by or "")
        await _wait_for_log(tmp_path / "scheduler.log", "job scheduler started")
    finally:
        for process in (worker, scheduler):
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=15) for process in (worker, scheduler)]
    assert codes == [0, 0]
    assert "job worker stopped" in (tmp_path / "worker.log").read_text()
