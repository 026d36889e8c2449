"""The full inbound loop on PostgreSQL: customer webhook -> stored -> processed -> bot rule reply -> sent to the
fake Graph API -> its "sent" and "delivered" receipts posted back -> applied.

    .venv/bin/python bench/full_loop.py [--messages 2000] [--customers 500] [--concurrency 64] [--servers 2]
                                        [--split-queues inbound/bot/deliveries/default,webhooks,media | --workers N]
                                        [--webhook]

The inbox has the built-in bot on and one auto-reply rule that answers every message; the fake Graph API
(nexa/devtools/fake_graph.py, in this process) accepts each send and posts the receipts back, signed, to
the inbox's callback URL, as Meta does. Prints, measured in the same run:
- reference: the raw asyncpg per-message inbound transaction of bench/inbound_pipeline.py;
- customer messages acked per second (2xx = stored) with ack latency;
- loop throughput: customer messages per second from the first post until every reply is `delivered`,
  with the latency from each customer's post to its reply's `delivered` receipt being applied;
- the CPU each Nexa process spent per customer message during the measured run.
Workers run as docs/deploy.md recommends, one process per group of queues (so each queue's share shows too);
`--workers N` runs N workers taking every queue instead. `--webhook` gives the account a webhook, as an
integration would (every message then fans out to it), posting to a receiver in this process; the run then
ends once every reply is delivered and every webhook job is done.
Target (issue 3): >= 500 messages/s through the full loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import machine_cpu_seconds, postgres_cpu_seconds  # noqa: E402
from bench.inbound_pipeline import (  # noqa: E402
    HEADER,
    RAW_CONNECTIONS,
    Load,
    Servers,
    admin_session,
    analyze,
    bench_database,
    burst,
    raw_reference,
    row,
    text_bodies,
    wait_for_rows,
    whatsapp_inbox,
)
from nexa.devtools.fake_graph import FakeGraph  # noqa: E402
from nexa.devtools.servers import serve  # noqa: E402
from nexa.kit import aio, http  # noqa: E402
from nexa.kit.memory import tune_garbage_collection  # noqa: E402

REPLY = "Obrigado! Já te respondo."
# docs/deploy.md's process layout: on two cores it ran the loop a quarter faster than one worker (session 12).
RECOMMENDED_QUEUE_GROUPS = "inbound/bot/deliveries/default,webhooks,media"


async def answer_everything(url: str, inbox_id: int) -> None:
    """The built-in bot on, with one rule whose pattern matches any text."""
    account_id, headers = await admin_session(url)
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        (await client.patch(f"/api/v1/accounts/{account_id}/inboxes/{inbox_id}", json={"bot_enabled": True})).raise_for_status()
        (await client.post(f"/api/v1/accounts/{account_id}/bot/rules", json={
            "name": "Answer everything", "kind": "pattern", "pattern": ".", "reply": REPLY,
        })).raise_for_status()


class WebhookReceiver:
    """An integrator's endpoint: answers every POST with 200 and counts them."""

    def __init__(self) -> None:
        self.posts = 0

    async def _post(self, request: Request) -> Response:
        await request.body()
        self.posts += 1
        return Response(status_code=200)

    async def subscribe(self, stack: contextlib.AsyncExitStack, url: str) -> None:
        """Serve the endpoint for the length of `stack` and register it as a webhook of the bench's account,
        with Chatwoot's default events."""
        running = await stack.enter_async_context(serve(Starlette(routes=[Route("/events", self._post, methods=["POST"])])))
        account_id, headers = await admin_session(url)
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            (await client.post(f"/api/v1/accounts/{account_id}/webhooks", json={
                "webhook": {"url": running.url + "/events", "name": "bench receiver"},
            })).raise_for_status()


async def webhook_jobs_done(dsn: str, timeout: float) -> float:
    """Wait until no webhook job (fan-out or delivery) is left to run: the wall-clock time then."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.monotonic()
        while await conn.fetchval(_LIVE_WEBHOOK_JOBS) and time.monotonic() < started + timeout:
            await asyncio.sleep(min(0.5, max(0.02, (time.monotonic() - started) / 50)))  # as wait_for_rows
        return time.time()
    finally:
        await conn.close()


# One EXISTS per state group, so that each walks its partial index (the table keeps every finished job).
_LIVE_WEBHOOK_JOBS = "SELECT " + " OR ".join(
    f"EXISTS (SELECT 1 FROM jobs WHERE queue = 'webhooks' AND {states})"
    for states in ("state = 'available'", "state IN ('scheduled', 'retryable')", "state = 'executing'")
)


def _delivered_replies(tag: str) -> str:
    return (f"SELECT count(*) FROM messages m WHERE m.message_type = 'outgoing' AND m.status = 'delivered' "
            f"AND m.conversation_id IN (SELECT conversation_id FROM messages WHERE source_id LIKE 'wamid.{tag}.%')")


async def receipts_taken(fake: FakeGraph, delivered: int, timeout: float) -> None:
    """Wait, in this process, until the receiver has taken `delivered` receipts "delivered": no reply can be
    counted delivered before. Polling the database's count (a join over the run's messages) through the
    whole run was ~0.2 ms of PostgreSQL per message; now it is polled from the last receipt on."""
    deadline = time.monotonic() + timeout
    while fake.receipts_taken["delivered"] < delivered and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def loop_latencies(dsn: str, load: Load, tag: str) -> list[float]:
    """Seconds from each customer message's post to the `delivered` receipt of the reply to it (the k-th
    reply of a conversation answers its k-th customer message; replies are sent in order per conversation)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f"""
            WITH asked AS (
                SELECT conversation_id, source_id, row_number() OVER (PARTITION BY conversation_id ORDER BY id) AS k
                FROM messages WHERE message_type = 'incoming' AND source_id LIKE 'wamid.{tag}.%'),
            answered AS (
                SELECT conversation_id, updated_at, row_number() OVER (PARTITION BY conversation_id ORDER BY id) AS k
                FROM messages WHERE message_type = 'outgoing' AND status = 'delivered'
                  AND conversation_id IN (SELECT conversation_id FROM asked))
            SELECT asked.source_id, answered.updated_at FROM asked JOIN answered USING (conversation_id, k)""")
    finally:
        await conn.close()
    return [answered.timestamp() - load.sent_at[source_id] for source_id, answered in rows if source_id in load.sent_at]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--servers", type=int, default=2)
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--split-queues", default=RECOMMENDED_QUEUE_GROUPS,
                        help="one worker per '/'-separated group of queues (the default: docs/deploy.md's layout)")
    layout.add_argument("--workers", type=int, help="N workers taking every queue, instead of one per group")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the last reply")
    parser.add_argument("--receipt-delay", type=float, default=0.0,
                        help="seconds from a send's answer to its first receipt (0: the receipts race the send's record)")
    parser.add_argument("--webhook", action="store_true",
                        help="an account webhook (Chatwoot's default events) posting to a receiver in this process; "
                             "the run ends once every reply is delivered and every webhook job is done")
    options = parser.parse_args()

    fake = FakeGraph()
    async with bench_database("nexa_bench_loop") as (database, dsn), fake.running(), contextlib.AsyncExitStack() as stack:
        groups = None if options.workers else options.split_queues.split("/")
        servers = Servers(database, options.servers, options.workers or 0, Path(f"/tmp/nexa_bench_{uuid.uuid4().hex[:8]}"),
                          worker_queues=groups, NEXA_WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
        receiver = WebhookReceiver()
        try:
            await servers.start()
            # Meta's default 80 sends/s per number would cap the loop: a high-tier number is assumed.
            account_id, inbox_id, path = await whatsapp_inbox(servers.url(0), fake, rate_per_second="1000")
            await answer_everything(servers.url(0), inbox_id)
            if options.webhook:
                await receiver.subscribe(stack, servers.url(0))
            raw_rate = await raw_reference(dsn, account_id, inbox_id, options.messages, options.customers)
            # Nexa's own client: httpx's transport cost the bench ~1 ms of CPU per receipt.
            async with http.client(timeout=30) as receipts:
                fake.send_receipts_to(receipts, servers.url(0) + path, ("sent", "delivered"), after=options.receipt_delay)
                warmup = text_bodies(fake, "warmup", 200, 200, area="21")  # other customers than the measured run
                await burst(servers, path, warmup, options.concurrency)
                await receipts_taken(fake, len(warmup), options.timeout)
                await wait_for_rows(dsn, _delivered_replies("warmup"), len(warmup), options.timeout)
                await webhook_jobs_done(dsn, options.timeout)
                await analyze(dsn)

                bodies = text_bodies(fake, "loop", options.messages, options.customers)
                cpu_before = _cpu_readings(servers)
                load = await burst(servers, path, bodies, options.concurrency)
                await receipts_taken(fake, len(warmup) + len(bodies), options.timeout)
                done, delivered = await wait_for_rows(dsn, _delivered_replies("loop"), options.messages, options.timeout)
                if options.webhook:
                    done = max(done, await webhook_jobs_done(dsn, options.timeout))
                cpu_used = {name: seconds - cpu_before[name] for name, seconds in _cpu_readings(servers).items()}
                await fake.settle()
            latencies = await loop_latencies(dsn, load, "loop")
        finally:
            servers.stop()

    acked = options.messages / load.elapsed
    loop_rate = delivered / (done - load.started)
    workers = f"{options.workers} nexa workers" if options.workers else f"one nexa worker per queue group ({options.split_queues})"
    print(f"\n{options.messages} customer texts, {options.customers} customers, {options.servers} nexa serve + {workers}, "
          f"{options.concurrency} in flight; bot rule reply to each, sent to the "
          f"fake Graph API, sent + delivered receipts posted back; reference over {RAW_CONNECTIONS} connections\n")
    print(HEADER)
    print(row("raw asyncpg per-message transaction", raw_rate, [], 0, 1.0))
    print(row("customer webhooks acked, ack latency", acked, load.acks, load.errors, acked / raw_rate))
    print(row("full loop: reply delivered, post-to-delivered", loop_rate, latencies, 0, loop_rate / raw_rate))
    print(f"\nfake Graph API: {len(fake.sent)} sends accepted")
    if options.webhook:
        print(f"webhook receiver: {receiver.posts} events posted")
    print("\nCPU per customer message (ms), by process:")
    machine = cpu_used.pop(_MACHINE)
    others = {name: cpu_used.pop(name) for name in (_POSTGRES, _BENCH)}
    for name, seconds in cpu_used.items():
        print(f"  {1000 * seconds / options.messages:6.2f}  {name}")
    print(f"  {1000 * sum(cpu_used.values()) / options.messages:6.2f}  all Nexa processes")
    for name, seconds in others.items():
        print(f"  {1000 * seconds / options.messages:6.2f}  {name}")
    print(f"  {1000 * machine / options.messages:6.2f}  {_MACHINE}")


_POSTGRES = "PostgreSQL"
_BENCH = "this bench: customers, fake Graph API, receipts"
_MACHINE = "the whole machine (every core busy, any process)"


def _cpu_readings(servers: Servers) -> dict[str, float]:
    return {**servers.cpu_seconds(), _POSTGRES: postgres_cpu_seconds(), _BENCH: time.process_time(),
            _MACHINE: machine_cpu_seconds()}


if __name__ == "__main__":
    # On uvloop and with their garbage collection, as Nexa's processes: on asyncio's selector loop the load
    # generator, the fake Graph API and its receipts took a sixth of the machine's CPU, and collections at
    # CPython's default threshold another tenth of this process, which the measured run then lacked.
    tune_garbage_collection()
    aio.run(main())
