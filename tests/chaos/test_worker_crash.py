"""A `nexa worker` is SIGKILLed while it is sending replies to the (fake) WhatsApp Cloud API. The API,
in its own process, keeps accepting replies; another worker's reaper rescues the dead worker's jobs;
every reply reaches the provider, in order per conversation, and none twice except the one window the
design documents (the provider accepted the send and the worker died before committing its id, see
docs/channels/delivery.md): only a delivery rescued from a worker that died mid-send may repeat."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from nexa.conversations.messages import DELIVERY_JOB
from nexa.conversations.models import Conversation, Message, MessageStatus, MessageType
from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.models import Job
from tests.chaos.helpers import (
    CONCURRENCY, assert_stored_exactly_once, customer_messages, retry_until_acked, wait_for, whatsapp_inbox,
)
from tests.fixtures.nexa_process import NexaProcess

pytestmark = pytest.mark.slow

CUSTOMERS = 6
REPLIES_PER_CUSTOMER = 6
KILL_AFTER_SENDS = 10
DELIVERY_SLOTS = 4


def spawn_worker(nexa: NexaProcess) -> subprocess.Popen[bytes]:
    env = {
        **nexa.env,
        "NEXA_WORKER_QUEUES": f"default:4,inbound:4,deliveries:{DELIVERY_SLOTS},webhooks:2,bot:2,media:1",
        "NEXA_WORKER_POLL_INTERVAL": "0.1",
        # The reaper gives a dead worker's jobs to the living after 3 s without a heartbeat (short for the
        # test; much shorter and a live worker starved of CPU on a busy machine looks dead too).
        "NEXA_JOB_RESCUE_AFTER_SECONDS": "3",
        "NEXA_DELIVERY_RETRY_BASE_SECONDS": "0.1",
        "NEXA_DELIVERY_RETRY_MAX_SECONDS": "0.5",
    }
    return subprocess.Popen([sys.executable, "-m", "nexa.cli.main", "worker", "--shutdown-timeout", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_killed_worker_loses_no_reply_and_sends_none_twice_after_a_known_success(
    own_database_url: str, tmp_path: Path, fake_graph: FakeGraph
) -> None:
    nexa = NexaProcess(own_database_url, tmp_path)  # API only: the workers are separate processes
    database = Database(own_database_url)
    workers: list[subprocess.Popen[bytes]] = []
    fake_graph.latency = 0.02  # sends take a moment, so the kill lands with some in flight
    try:
        await nexa.start()
        account_url, callback = await whatsapp_inbox(nexa, fake_graph)
        headers = await nexa.admin_headers()
        workers = [spawn_worker(nexa), spawn_worker(nexa)]
        victim, survivor = workers

        # Customers write first (an open service window), then agents answer each several times.
        inbound = customer_messages(fake_graph, "HELLO", CUSTOMERS, customers=CUSTOMERS)
        await retry_until_acked(fake_graph, callback, inbound, inbound)
        # Generous: this is also the wait for both workers to be up (a cold start on a busy machine).
        await assert_stored_exactly_once(database, set(inbound), timeout=60)
        async with database.session(write=False) as session:
            conversations = list((await session.scalars(select(Conversation.id).order_by(Conversation.id))).all())
        assert len(conversations) == CUSTOMERS

        accepted: dict[str, int] = {}  # reply text -> conversation
        gate = asyncio.Semaphore(CONCURRENCY)

        async def reply(client: httpx.AsyncClient, conversation_id: int, n: int) -> None:
            text = f"reply {conversation_id}-{n:02d}"
            async with gate:
                response = await client.post(f"{account_url}/conversations/{conversation_id}/messages",
                                             json={"content": text}, headers=headers)
            assert response.status_code == 200, response.text
            accepted[text] = conversation_id

        async def answer_all(client: httpx.AsyncClient, numbers: range) -> None:
            # One conversation's replies go one after another (an agent types them in order).
            async def conversation(conversation_id: int) -> None:
                for n in numbers:
                    await reply(client, conversation_id, n)
            await asyncio.gather(*(conversation(c) for c in conversations))

        half = REPLIES_PER_CUSTOMER // 2
        async with httpx.AsyncClient(timeout=15) as client:
            await answer_all(client, range(half))
            await wait_for(lambda: _sent_at_least(fake_graph, KILL_AFTER_SENDS), timeout=30, what="sends to start")
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            # The API never noticed: replies are still accepted while the survivor rescues the jobs.
            await answer_all(client, range(half, REPLIES_PER_CUSTOMER))

        total = CUSTOMERS * REPLIES_PER_CUSTOMER
        assert len(accepted) == total

        async def all_sent() -> bool:
            async with database.session(write=False) as session:
                return await session.scalar(select(func.count()).select_from(Message).where(
                    Message.message_type == MessageType.outgoing, Message.status == MessageStatus.sent)) == total
        await wait_for(all_sent, timeout=60, what="every reply to be sent")
        assert survivor.poll() is None

        times = Counter(record.text for record in fake_graph.sent)
        assert set(times) == set(accepted), "a reply never reached the provider"
        duplicates = {text for text, count in times.items() if count > 1}
        # The one window a repeat can come from: a delivery rescued from a worker that died (or froze past
        # the rescue time) mid-send, which may have reached the provider without committing its id.
        async with database.session(write=False) as session:
            deliveries = (await session.execute(
                select(Message.content, Job.errors).join(Job, Job.args["message_id"].as_integer() == Message.id)
                .where(Job.kind == DELIVERY_JOB)
            )).all()
        rescued = {content for content, errors in deliveries
                   if any(str(error.get("error", "")).startswith("rescued") for error in errors)}
        assert duplicates <= rescued, f"sent twice outside the documented window: {sorted(duplicates - rescued)}"

        # Order per conversation: each conversation's replies reached the provider in the order written.
        first_seen: dict[int, list[str]] = {}
        for record in fake_graph.sent:
            sequence = first_seen.setdefault(accepted[record.text], [])
            if record.text not in sequence:
                sequence.append(record.text)
        for sequence in first_seen.values():
            assert sequence == sorted(sequence)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                await asyncio.to_thread(worker.wait, 20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        nexa.stop()
        await database.dispose()


async def _sent_at_least(fake: FakeGraph, count: int) -> bool:
    return len(fake.sent) >= count
