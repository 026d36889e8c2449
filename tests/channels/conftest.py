"""Channel tests talk to the app through a client that waits, after each provider webhook, until the job
processing stored webhooks has run (a real worker on the `inbound` queue, in this process): the 2xx means
"stored", and the tests then read what processing made of it, as an agent would a moment later."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from nexa.channels.inbound_queue import INBOUND_QUEUE
from nexa.db.engine import Database
from nexa.jobs.models import AVAILABLE, EXECUTING, Job, state_is
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime

_SETTLE_SECONDS = 10.0


async def inbound_settled(database: Database) -> None:
    """Wait until no stored webhook waits for processing or is being processed."""
    deadline = time.monotonic() + _SETTLE_SECONDS
    while True:
        async with database.session(write=False) as session:
            busy = await session.scalar(
                select(func.count()).select_from(Job).where(Job.queue == INBOUND_QUEUE, state_is(AVAILABLE, EXECUTING))
            )
        if not busy:
            return
        assert time.monotonic() < deadline, "stored webhooks were not processed"
        await asyncio.sleep(0.005)


@pytest.fixture
async def client(app: FastAPI, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    inbound_worker = Worker(runtime.db, runtime.settings, queues=[INBOUND_QUEUE])
    await inbound_worker.start()

    async def after_webhook(response: httpx.Response) -> None:
        if response.request.method == "POST" and response.request.url.path.startswith("/webhooks/"):
            await inbound_settled(runtime.db)

    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", event_hooks={"response": [after_webhook]}
        ) as http:
            yield http
    finally:
        await inbound_worker.stop(timeout=5)
