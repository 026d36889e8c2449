"""Inbound WhatsApp webhooks end to end on PostgreSQL: signed webhooks -> `nexa serve` -> stored.

    .venv/bin/python bench/inbound_pipeline.py [--messages 3000] [--concurrency 64] [--servers 2]

Prints, measured in the same run:
- reference: a raw asyncpg loop doing the same per-message transaction as the pipeline (contact upsert,
  contact-inbox upsert, conversation find-or-create with the account counter, message insert,
  conversation update) over 8 connections, no HTTP, no ORM;
- Nexa: signed text webhooks posted by a load generator on this machine to `--servers` `nexa serve
  --no-worker` processes, acked (2xx = stored) per second, with ack latency percentiles;
- ack latency at a fixed 300 webhooks/s.
Targets (issue 3): >= 1,000 acked/s and >= 40% of the reference; ack p95 <= 25 ms at 300/s.
Creates and drops its own database next to NEXA_BENCH_DATABASE_URL's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nexa.db import migrations  # noqa: E402
from nexa.devtools.fake_graph import FakeGraph

ADMIN = {"email": "bench@example.com", "password": "bench password 1"}
RAW_CONNECTIONS = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# --- the reference: the same rows, written by hand ------------------------------------------------------

_RAW_TRANSACTION = [
    ("contact", """
        INSERT INTO contacts (account_id, name, phone_number, phone_key, blocked, additional_attributes,
                              custom_attributes, lead_status, lead_score_reasons, created_at, updated_at)
        VALUES ($1, $2, $3, $3, false, '{}', '{}', 'new', '[]', now(), now())
        ON CONFLICT (account_id, phone_key) DO UPDATE SET updated_at = now() RETURNING id"""),
    ("contact_inbox", """
        INSERT INTO contact_inboxes (account_id, contact_id, inbox_id, source_id, pubsub_token, created_at, updated_at)
        VALUES ($1, $2, $3, $4, md5(random()::text), now(), now())
        ON CONFLICT (inbox_id, source_id) DO UPDATE SET updated_at = now() RETURNING id"""),
    ("conversation", """
        SELECT id FROM conversations WHERE contact_inbox_id = $1 AND status <> 'resolved' ORDER BY id DESC LIMIT 1"""),
    ("counter", """
        UPDATE accounts SET last_conversation_display_id = last_conversation_display_id + 1 WHERE id = $1
        RETURNING last_conversation_display_id"""),
    ("new_conversation", """
        INSERT INTO conversations (account_id, display_id, uuid, inbox_id, contact_id, contact_inbox_id, status,
                                   custom_attributes, additional_attributes, last_activity_at, muted, created_at, updated_at)
        VALUES ($1, $2, gen_random_uuid()::text, $3, $4, $5, 'open', '{}', '{}', now(), false, now(), now())
        RETURNING id"""),
    ("message", """
        INSERT INTO messages (account_id, conversation_id, inbox_id, message_type, content, content_type,
                              content_attributes, additional_attributes, private, status, source_id,
                              sender_type, sender_id, created_at, updated_at)
        VALUES ($1, $2, $3, 'incoming', $4, 'text', '{}', '{}', false, 'sent', $5, 'contact', $6, now(), now())
        ON CONFLICT (inbox_id, source_id) DO NOTHING"""),
    ("touch", """
        UPDATE conversations SET last_activity_at = now(), waiting_since = coalesce(waiting_since, now()),
                                 updated_at = now() WHERE id = $1"""),
]


async def raw_reference(dsn: str, account_id: int, inbox_id: int, messages: int, customers: int) -> float:
    sql = dict(_RAW_TRANSACTION)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(messages):
        queue.put_nowait(n)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while not queue.empty():
                n = queue.get_nowait()
                phone = f"+55218{n % customers:08d}"
                async with conn.transaction():
                    contact = await conn.fetchval(sql["contact"], account_id, phone, phone)
                    contact_inbox = await conn.fetchval(sql["contact_inbox"], account_id, contact, inbox_id, phone[1:])
                    conversation = await conn.fetchval(sql["conversation"], contact_inbox)
                    if conversation is None:
                        display_id = await conn.fetchval(sql["counter"], account_id)
                        conversation = await conn.fetchval(
                            sql["new_conversation"], account_id, display_id, inbox_id, contact, contact_inbox
                        )
                    await conn.execute(sql["message"], account_id, conversation, inbox_id, f"raw {n}", f"raw.{n}", contact)
                    await conn.execute(sql["touch"], conversation)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(RAW_CONNECTIONS)))
    return messages / (time.perf_counter() - started)


# --- Nexa ---------------------------------------------------------------------------------------------


class Servers:
    def __init__(self, database_url: str, count: int, data_dir: Path) -> None:
        self.ports = [_free_port() for _ in range(count)]
        self.env = {
            **os.environ, "NEXA_DATABASE_URL": database_url, "NEXA_DATA_DIR": str(data_dir),
            "NEXA_SECRET_KEY": "bench-secret-" + "x" * 32, "NEXA_ADMIN_EMAIL": ADMIN["email"],
            "NEXA_ADMIN_PASSWORD": ADMIN["password"], "NEXA_LOG_LEVEL": "WARNING", "NEXA_DATABASE_POOL_SIZE": "10",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    async def start(self) -> None:
        for index, port in enumerate(self.ports):
            command = [sys.executable, "-m", "nexa.cli.main", "serve", "--no-worker", "--port", str(port)]
            if index:
                command.append("--no-migrate")
            self.processes.append(subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL))
            await _wait_healthy(f"http://127.0.0.1:{port}")

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=20)

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n % len(self.ports)]}"


async def _wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


async def _inbox(url: str, fake: FakeGraph) -> tuple[int, int, str]:
    async with httpx.AsyncClient(base_url=url) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        account_id = (await client.get("/api/v1/profile", headers=headers)).json()["account_id"]
        response = await client.post(f"/api/v1/accounts/{account_id}/inboxes", headers=headers, json={
            "name": "Bench", "channel": {"type": "whatsapp", "phone_number": "+15550783881", "provider": "whatsapp_cloud",
                                         "provider_config": {"api_key": fake.access_token, "phone_number_id": fake.phone_number_id,
                                                             "business_account_id": fake.waba_id,
                                                             "webhook_verify_token": fake.verify_token,
                                                             "app_secret": fake.app_secret}}})
        response.raise_for_status()
        inbox = response.json()
        return account_id, inbox["id"], inbox["callback_webhook_url"].split("/webhooks/", 1)[1]


async def nexa_burst(
    servers: Servers, path: str, fake: FakeGraph, messages: int, customers: int, concurrency: int, tag: str
) -> tuple[float, list[float], int]:
    bodies = [
        fake.signed(fake.webhook(messages=[fake.text_message(f"{tag} {n}", from_=f"55119{n % customers:08d}",
                                                             id=f"wamid.{tag}.{n}")]))
        for n in range(messages)
    ]
    latencies: list[float] = []
    errors = 0
    gate = asyncio.Semaphore(concurrency)

    async def post(client: httpx.AsyncClient, n: int) -> None:
        nonlocal errors
        raw, headers = bodies[n]
        async with gate:
            started = time.perf_counter()
            response = await client.post(f"{servers.url(n)}/webhooks/{path}", content=raw, headers=headers)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(post(client, n) for n in range(messages)))
        elapsed = time.perf_counter() - started
    return messages / elapsed, latencies, errors


async def nexa_paced(servers: Servers, path: str, fake: FakeGraph, rate: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)

    async def post(client: httpx.AsyncClient, n: int) -> None:
        nonlocal errors
        raw, headers = fake.signed(fake.webhook(messages=[fake.text_message(f"paced {n}", from_=f"55117{n % 200:08d}",
                                                                            id=f"wamid.paced.{n}")]))
        started = time.perf_counter()
        response = await client.post(f"{servers.url(n)}/webhooks/{path}", content=raw, headers=headers)
        latencies.append(time.perf_counter() - started)
        errors += response.status_code != 200

    async with httpx.AsyncClient(timeout=30) as client:
        tasks = []
        start = time.perf_counter()
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(client, n)))
        await asyncio.gather(*tasks)
    return latencies, errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    options = parser.parse_args()

    base = make_url(os.environ.get("NEXA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    name = f"nexa_bench_inbound_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    database = base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    dsn = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    servers = Servers(database, options.servers, Path(f"/tmp/{name}"))
    fake = FakeGraph()
    try:
        await migrations.upgrade_async(database)
        await servers.start()
        account_id, inbox_id, path = await _inbox(servers.url(0), fake)
        raw_rate = await raw_reference(dsn, account_id, inbox_id, options.messages, options.customers)
        await nexa_burst(servers, path, fake, 200, options.customers, options.concurrency, "warmup")
        rate, latencies, errors = await nexa_burst(
            servers, path, fake, options.messages, options.customers, options.concurrency, "burst"
        )
        paced, paced_errors = await nexa_paced(servers, path, fake, 300, options.paced_seconds)
    finally:
        servers.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    ms = 1000
    print(f"\n{options.messages} text webhooks, {options.customers} customers, {options.servers} nexa serve "
          f"processes, {options.concurrency} in flight; reference over {RAW_CONNECTIONS} connections\n")
    print(f"{'scenario':<40}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'ratio':>8}")
    print(f"{'raw asyncpg per-message transaction':<40}{raw_rate:>9,.0f}{'':>9}{'':>9}{'':>9}{0:>8}{1:>8.2f}")
    print(f"{'webhooks acked (stored), burst':<40}{rate:>9,.0f}{percentile(latencies, .5) * ms:>9.1f}"
          f"{percentile(latencies, .95) * ms:>9.1f}{percentile(latencies, .99) * ms:>9.1f}{errors:>8}{rate / raw_rate:>8.2f}")
    print(f"{'webhooks acked at 300/s':<40}{300:>9}{percentile(paced, .5) * ms:>9.1f}"
          f"{percentile(paced, .95) * ms:>9.1f}{percentile(paced, .99) * ms:>9.1f}{paced_errors:>8}{'':>8}")
    print(f"\nmean ack latency in the burst: {statistics.mean(latencies) * ms:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
