"""`nexa serve` (with its worker) is SIGKILLed in the middle of a burst of 800 WhatsApp webhooks, while it is
both answering them and processing the stored ones in batches. Every webhook it answered 2xx must be
stored at that moment (processed, or waiting as a job), processed after a restart, and Meta's retries of
the rest (and of some answered ones) must give each message exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from nexa.channels.inbound_queue import INBOUND_JOB
from nexa.conversations.models import Message, MessageType
from nexa.db.engine import Database
from nexa.jobs.models import Job
from nexa.devtools.fake_graph import FakeGraph
from tests.fixtures.nexa_process import NexaProcess

pytestmark = pytest.mark.slow

# Enough that the kill lands mid-burst with hundreds still in flight and batches being processed;
# more only makes the test longer, not stricter.
WEBHOOKS = 800
KILL_AFTER_ACKS = 250
CONCURRENCY = 32
CUSTOMERS = 40
PROCESSED_WITHIN_SECONDS = 60


async def _stored_ids(database: Database) -> set[str]:
    """Message ids that are rows, or inside a stored webhook waiting to be processed."""
    async with database.session(write=False) as session:
        stored = set((await session.scalars(select(Message.source_id))).all())
        waiting = (await session.scalars(select(Job.args).where(Job.kind == INBOUND_JOB, Job.state != "completed"))).all()
    text = " ".join(args["body"] for args in waiting)
    return stored | {f"wamid.CHAOS{n:05d}" for n in range(WEBHOOKS) if f'"wamid.CHAOS{n:05d}"' in text}


async def _message_counts(database: Database) -> tuple[int, int]:
    """Customer messages, and distinct provider ids among them (activity lines, e.g. an auto-assignment,
    are messages too, but not the customers')."""
    incoming = Message.message_type == MessageType.incoming
    # One statement, so one snapshot: in READ COMMITTED two statements see two moments, and messages stored
    # between them made the pair disagree (798 customer messages, 800 distinct ids) while the worker ran.
    async with database.session(write=False) as session:
        total, distinct = (
            await session.execute(select(func.count(), func.count(func.distinct(Message.source_id))).where(incoming))
        ).one()
    return total, distinct


async def _whatsapp_inbox(nexa: NexaProcess, fake: FakeGraph) -> str:
    async with httpx.AsyncClient(base_url=nexa.url) as client:
        headers = await nexa.admin_headers()
        profile = (await client.get("/api/v1/profile", headers=headers)).json()
        inbox = await client.post(
            f"/api/v1/accounts/{profile['account_id']}/inboxes",
            json={"name": "WhatsApp", "channel": {"type": "whatsapp", "phone_number": "+15550783881",
                                                   "provider": "whatsapp_cloud",
                                                   "provider_config": {
                                                       "api_key": fake.access_token,
                                                       "phone_number_id": fake.phone_number_id,
                                                       "business_account_id": fake.waba_id,
                                                       "webhook_verify_token": fake.verify_token,
                                                       "app_secret": fake.app_secret,
                                                   }}},
            headers=headers,
        )
        assert inbox.status_code == 200, inbox.text
        return inbox.json()["callback_webhook_url"]


async def test_webhooks_acknowledged_before_a_sigkill_survive_it(own_database_url: str, tmp_path: Path) -> None:
    fake = FakeGraph()  # only its webhook builders and signing: no server needed
    nexa = NexaProcess(own_database_url, tmp_path, worker=True)
    # The batch being processed at the kill is a job left executing: the reaper gives it back quickly.
    nexa.env["NEXA_JOB_RESCUE_AFTER_SECONDS"] = "2"
    bodies = [
        fake.webhook(messages=[fake.text_message(f"message {n}", from_=f"55119{n % CUSTOMERS:08d}", id=f"wamid.CHAOS{n:05d}")])
        for n in range(WEBHOOKS)
    ]
    acked: set[int] = set()
    killed = asyncio.Event()
    try:
        await nexa.start()
        callback = await _whatsapp_inbox(nexa, fake)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def deliver(client: httpx.AsyncClient, n: int) -> None:
            async with gate:
                if killed.is_set():
                    return
                try:
                    response = await fake.post_webhook(client, callback, bodies[n])
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    acked.add(n)
                    if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                        killed.set()
                        nexa.kill()

        async with httpx.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(deliver(client, n) for n in range(WEBHOOKS)))
        assert killed.is_set() and KILL_AFTER_ACKS <= len(acked) < WEBHOOKS

        database = Database(own_database_url)
        try:
            stored = await _stored_ids(database)
            assert {f"wamid.CHAOS{n:05d}" for n in acked} <= stored, "a webhook answered 2xx was lost"

            # Meta retries what it did not get a 2xx for, and sometimes what it did.
            await nexa.start()
            retries = [n for n in range(WEBHOOKS) if n not in acked] + sorted(acked)[:50]
            async with httpx.AsyncClient(timeout=10) as client:
                for chunk in range(0, len(retries), CONCURRENCY):
                    responses = await asyncio.gather(
                        *(fake.post_webhook(client, callback, bodies[n]) for n in retries[chunk:chunk + CONCURRENCY])
                    )
                    assert all(r.status_code == 200 for r in responses)

            deadline = time.monotonic() + PROCESSED_WITHIN_SECONDS
            while (counts := await _message_counts(database))[1] < WEBHOOKS and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert counts == (WEBHOOKS, WEBHOOKS), "stored webhooks were lost or processed twice"
        finally:
            await database.dispose()
    finally:
        nexa.stop()
