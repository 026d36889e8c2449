from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nexa.config import Settings
from nexa.db.engine import Database
from nexa.jobs.worker import Worker
from tests.jobs import sample_jobs


@pytest.fixture
def settings() -> Settings:
    return Settings(
        worker_queues="default:10,other:5",
        worker_poll_interval=0.05,
        # Long: on a loaded test machine a live worker's heartbeat can stall for seconds, and a short window
        # would rescue (and rerun) its running jobs. Rescue tests set their own short window.
        job_rescue_after_seconds=30.0,
        job_modules="tests.jobs.sample_jobs",
        log_json=False,
    )


@pytest.fixture(autouse=True)
def _reset_sample_jobs() -> None:
    sample_jobs.RAN.clear()
    sample_jobs.CALLS.clear()
    sample_jobs.CHUNKS.clear()
    sample_jobs.EXCLUSIVE.update(active=0, max_active=0)


@pytest.fixture
async def worker_factory(db: Database, settings: Settings) -> AsyncIterator[Callable[..., Awaitable[Worker]]]:
    """Start workers on the test database; every one is stopped when the test ends."""
    started: list[Worker] = []

    async def start(settings_: Settings | None = None, **kwargs: object) -> Worker:
        worker = Worker(db, settings_ or settings, **kwargs)  # type: ignore[arg-type]
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop(timeout=5)
