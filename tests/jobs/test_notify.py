"""Other processes hear of new work through `NOTIFY nexa_jobs`, sent by the jobs table's trigger (PostgreSQL)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from nexa.db.engine import Database
from nexa.jobs.enqueue import NOTIFY_CHANNEL, NewJob, add_job, enqueue, insert_jobs
from tests.jobs import sample_jobs  # noqa: F401 - registers test.record


async def test_each_queue_made_available_is_notified_once_at_commit(db: Database, database_url: str, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("NOTIFY is PostgreSQL's; SQLite's workers share one process")
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda _conn, _pid, _channel, payload: heard.put_nowait(payload))

        async with db.session() as session:
            await enqueue(session, "test.record", {"n": 1}, queue="alpha")
            add_job(session, "test.record", {"n": 2}, queue="alpha")
            await insert_jobs(session, "test.record", [NewJob({"n": 3}), NewJob({"n": 4})])  # the default queue
            await enqueue(session, "test.record", {"n": 5}, queue="later", schedule_in=3600)  # not available yet
            await asyncio.sleep(0.2)
            assert heard.empty()  # nothing before the commit

        payloads = [await asyncio.wait_for(heard.get(), 5)]
        await asyncio.sleep(0.3)
        while not heard.empty():
            payloads.append(heard.get_nowait())
        assert sorted(payloads) == ["alpha", "default"]

        with pytest.raises(RuntimeError):
            async with db.session() as session:
                await enqueue(session, "test.record", {"n": 6}, queue="alpha")
                raise RuntimeError("rolled back")
        await asyncio.sleep(0.3)
        assert heard.empty()  # never after a rollback
    finally:
        await listener.close()
