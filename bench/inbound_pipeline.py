"""Inbound WhatsApp webhooks end to end on PostgreSQL: signed webhooks -> `nexa serve` -> stored -> processed.

    .venv/bin/python bench/inbound_pipeline.py [--messages 3000] [--concurrency 64] [--servers 2] [--workers 1]

Prints, measured in the same run:
- reference: a raw asyncpg loop doing the same per-message transaction as the pipeline (contact upsert,
  contact-inbox upsert, conversation find-or-create with the account counter, message insert,
  conversation update) over 8 connections, no HTTP, no ORM;
- Nexa, burst: signed text webhooks posted by a load generator on this machine (`--concurrency` in flight)
  to `--servers` `nexa serve --no-worker` processes, with `--workers` `nexa worker` processes processing
  them. "acked" = answered 2xx (= durably stored), per second, with ack latency percentiles; "persisted" =
  every message is a row in `messages` (contact, conversation, message: what an agent sees), per second
  from the first post to the last row, with the post-to-row latency percentiles;
- Nexa at a fixed 300 webhooks/s: ack latency, and post-to-row latency (what "appears within a second" means).
Targets (issue 3): >= 1,000 msg/s acked and persisted and >= 40% of the reference; ack p95 <= 25 ms at 300/s.
Creates and drops its own database next to NEXA_BENCH_DATABASE_URL's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import cpu_seconds, stop_processes, wait_healthy  # noqa: E402
from nexa.db import migrations  # noqa: E402
from nexa.devtools.fake_graph import FakeGraph  # noqa: E402
from nexa.kit import aio  # noqa: E402
from nexa.kit.memory import tune_garbage_collection  # noqa: E402

ADMIN = {"email": "bench@example.com", "password": "bench password 1"}
RAW_CONNECTIONS = 8
MS = 1000


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


# --- Nexa processes ------------------------------------------------------------------------------------


class Servers:
    """`servers` x `nexa serve --no-worker` (the webhook endpoints) and `workers` x `nexa worker`."""

    def __init__(
        self, database_url: str, count: int, workers: int, data_dir: Path, *, worker_queues: list[str] | None = None,
        **env: str,
    ) -> None:
        self.ports = [_free_port() for _ in range(count)]
        # One `nexa worker --queues <group>` per group when given (to see each queue's CPU), else `workers` on all.
        self.worker_queues = worker_queues or [""] * workers
        self.env = {
            **os.environ, "NEXA_DATABASE_URL": database_url, "NEXA_DATA_DIR": str(data_dir),
            "NEXA_SECRET_KEY": "bench-secret-" + "x" * 32, "NEXA_ADMIN_EMAIL": ADMIN["email"],
            "NEXA_ADMIN_PASSWORD": ADMIN["password"], "NEXA_LOG_LEVEL": "WARNING", "NEXA_DATABASE_POOL_SIZE": "10",
            **env,
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    async def start(self) -> None:
        for index, port in enumerate(self.ports):
            command = [sys.executable, "-m", "nexa.cli.main", "serve", "--no-worker", "--port", str(port)]
            if index:
                command.append("--no-migrate")
            self.processes.append(subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL))
            await wait_healthy(f"http://127.0.0.1:{port}")
        for queues in self.worker_queues:
            command = [sys.executable, "-m", "nexa.cli.main", "worker", *(["--queues", queues] if queues else [])]
            self.processes.append(subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each process, by its command line (`serve ... --port N`, `worker ...`; the
        second of two alike is `worker #2`)."""
        used: dict[str, float] = {}
        for process in self.processes:
            name = " ".join(map(str, process.args[3:]))
            alike = sum(1 for known in used if known == name or known.startswith(f"{name} #"))
            used[f"{name} #{alike + 1}" if alike else name] = cpu_seconds(process.pid)
        return used

    def stop(self) -> None:
        stop_processes(self.processes, timeout=30)

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n % len(self.ports)]}"

    def port(self, n: int) -> int:
        return self.ports[n % len(self.ports)]


@asynccontextmanager
async def bench_database(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh, migrated database: (SQLAlchemy URL, asyncpg DSN); dropped afterwards."""
    base = make_url(os.environ.get("NEXA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        database = base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
        await migrations.upgrade_async(database)
        yield database, base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def admin_session(url: str) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient(base_url=url) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        return (await client.get("/api/v1/profile", headers=headers)).json()["account_id"], headers


async def whatsapp_inbox(url: str, fake: FakeGraph, **settings: str) -> tuple[int, int, str]:
    """(account id, inbox id, webhook path) of a new WhatsApp inbox on `fake`'s number (and API, if it runs);
    `settings` are added to its provider_config (e.g. rate_per_second)."""
    config = fake.provider_config() if fake.server is not None else {
        "api_key": fake.access_token, "phone_number_id": fake.phone_number_id, "business_account_id": fake.waba_id,
        "webhook_verify_token": fake.verify_token, "app_secret": fake.app_secret,
    }
    config.update(settings)
    account_id, headers = await admin_session(url)
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(f"/api/v1/accounts/{account_id}/inboxes", headers=headers, json={
            "name": "Bench", "channel": {"type": "whatsapp", "phone_number": "+15550783881", "provider": "whatsapp_cloud",
                                         "provider_config": config}})
        response.raise_for_status()
        inbox = response.json()
        return account_id, inbox["id"], "/webhooks/" + inbox["callback_webhook_url"].split("/webhooks/", 1)[1]


# --- the load generator -----------------------------------------------------------------------------------
# A minimal keep-alive HTTP/1.1 client: httpx costs about a millisecond of CPU per request, which on a
# 2-core machine would take a good part of the servers' CPU away from them.


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Load:
    """What one run of posts gave: wall-clock send times (for post-to-row latency), ack latencies, errors."""

    sent_at: dict[str, float] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def started(self) -> float:
        return min(self.sent_at.values())


Body = tuple[str, bytes, dict[str, str]]  # (the message id it carries, raw body, headers)


def text_bodies(fake: FakeGraph, tag: str, messages: int, customers: int, area: str = "11") -> list[Body]:
    """One text per webhook from `customers` numbers (+55 `area` 9xxxx-xxxx, so runs can keep apart)."""
    bodies = []
    for n in range(messages):
        wamid = f"wamid.{tag}.{n}"
        raw, headers = fake.signed(fake.webhook(messages=[fake.text_message(
            f"{tag} {n}", from_=f"55{area}9{n % customers:08d}", id=wamid)]))
        bodies.append((wamid, raw, headers))
    return bodies


async def _post(connection: Connection, path: str, body: Body, load: Load) -> None:
    wamid, raw, headers = body
    load.sent_at[wamid] = time.time()
    started = time.perf_counter()
    status = await connection.post(path, raw, headers)
    load.acks.append(time.perf_counter() - started)
    load.errors += status != 200


async def burst(servers: Servers, path: str, bodies: list[Body], concurrency: int) -> Load:
    """Post every body with `concurrency` requests in flight."""
    load = Load()
    pending = iter(enumerate(bodies))

    async def sender(index: int) -> None:
        connection = await Connection.open(servers.port(index))
        try:
            for _n, body in pending:
                await _post(connection, path, body, load)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender(index) for index in range(concurrency)))
    load.elapsed = time.perf_counter() - started
    return load


async def paced(servers: Servers, path: str, bodies: list[Body], rate: float) -> Load:
    """Post the bodies at a fixed rate, whatever the answers' latency (connections opened as needed)."""
    load = Load()
    idle: list[Connection] = []

    async def one(n: int, body: Body) -> None:
        connection = idle.pop() if idle else await Connection.open(servers.port(n))
        try:
            await _post(connection, path, body, load)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closed a connection that sat idle past its keep-alive timeout: post again on a new
            # one (safe: the message id dedupes it).
            connection.close()
            connection = await Connection.open(servers.port(n))
            await _post(connection, path, body, load)
        idle.append(connection)

    tasks = []
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, body)))
    await asyncio.gather(*tasks)
    load.elapsed = time.perf_counter() - started
    for connection in idle:
        connection.close()
    return load


async def wait_for_rows(dsn: str, query: str, expected: int, timeout: float = 300.0) -> tuple[float, int]:
    """Poll `query` (a count) until it reaches `expected` or `timeout` passes: (wall-clock time, count)."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.monotonic()
        while (count := await conn.fetchval(query)) < expected and time.monotonic() < started + timeout:
            # The count is a join over the run's messages: polled every 20 ms through a 20 s loop, it was 0.5 ms
            # of the server's CPU per message. A pause of 2 % of the time so far keeps the end time as precise.
            await asyncio.sleep(min(0.5, max(0.02, (time.monotonic() - started) / 50)))
        if count < expected:
            print(f"only {count} of {expected} rows after {timeout:.0f} s: the rate below counts those", file=sys.stderr)
        return time.time(), count
    finally:
        await conn.close()


async def analyze(dsn: str) -> None:
    """Give the planner statistics for the tables the warm-up filled. The scratch database starts empty and
    autovacuum looks at it once a minute: until then PostgreSQL plans every query for empty tables, and the
    bot turn's read of its messages walked the whole account (200-340 ms each at 3,000 messages instead of a
    few index lookups). A live database has its statistics; the measured run should too."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def row_latencies(dsn: str, load: Load, query: str) -> list[float]:
    """Seconds from each post to its row, `query` giving (message id, created_at) rows."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(query)
    finally:
        await conn.close()
    return [row[1].timestamp() - load.sent_at[row[0]] for row in rows if row[0] in load.sent_at]


def row(name: str, rate: float | None, latencies: list[float], errors: int, ratio: float | None) -> str:
    cells = [f"{name:<46}", f"{rate:>9,.0f}" if rate is not None else f"{'':>9}"]
    cells += [f"{percentile(latencies, q) * MS:>9.1f}" if latencies else f"{'':>9}" for q in (.5, .95, .99)]
    cells += [f"{errors:>8}", f"{ratio:>8.2f}" if ratio is not None else f"{'':>8}"]
    return "".join(cells)


HEADER = f"{'scenario':<46}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'ratio':>8}"


def _messages_like(tag: str) -> str:
    return f"SELECT count(*) FROM messages WHERE source_id LIKE 'wamid.{tag}.%'"


def _created_like(tag: str) -> str:
    return f"SELECT source_id, created_at FROM messages WHERE source_id LIKE 'wamid.{tag}.%'"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the rows of each run")
    options = parser.parse_args()

    fake = FakeGraph()  # its webhook builders and signing only
    async with bench_database("nexa_bench_inbound") as (database, dsn):
        servers = Servers(database, options.servers, options.workers, Path(f"/tmp/nexa_bench_{uuid.uuid4().hex[:8]}"))
        try:
            await servers.start()
            account_id, inbox_id, path = await whatsapp_inbox(servers.url(0), fake)
            raw_rate = await raw_reference(dsn, account_id, inbox_id, options.messages, options.customers)
            warmup = text_bodies(fake, "warmup", 300, options.customers)
            await burst(servers, path, warmup, options.concurrency)
            await wait_for_rows(dsn, _messages_like("warmup"), len(warmup), options.timeout)
            await analyze(dsn)

            bodies = text_bodies(fake, "burst", options.messages, options.customers)
            load = await burst(servers, path, bodies, options.concurrency)
            done, persisted = await wait_for_rows(dsn, _messages_like("burst"), options.messages, options.timeout)
            persisted_rate = persisted / (done - load.started)
            burst_rows = await row_latencies(dsn, load, _created_like("burst"))

            paced_bodies = text_bodies(fake, "paced", int(300 * options.paced_seconds), 200)
            slow = await paced(servers, path, paced_bodies, 300)
            await wait_for_rows(dsn, _messages_like("paced"), len(paced_bodies), options.timeout)
            paced_rows = await row_latencies(dsn, slow, _created_like("paced"))
        finally:
            servers.stop()

    acked_rate = options.messages / load.elapsed
    print(f"\n{options.messages} text webhooks, {options.customers} customers, {options.servers} nexa serve + "
          f"{options.workers} nexa worker processes, {options.concurrency} in flight; reference over "
          f"{RAW_CONNECTIONS} connections\n")
    print(HEADER)
    print(row("raw asyncpg per-message transaction", raw_rate, [], 0, 1.0))
    print(row("burst: acked (2xx = stored), ack latency", acked_rate, load.acks, load.errors, acked_rate / raw_rate))
    print(row("burst: persisted, post-to-row latency", persisted_rate, burst_rows, 0, persisted_rate / raw_rate))
    print(row("300/s: acked, ack latency", len(paced_bodies) / slow.elapsed, slow.acks, slow.errors, None))
    print(row("300/s: persisted, post-to-row latency", None, paced_rows, 0, None))


if __name__ == "__main__":
    # On uvloop and with their garbage collection, as Nexa's processes: on asyncio's selector loop the load
    # generator, the fake Graph API and its receipts took a sixth of the machine's CPU, and collections at
    # CPython's default threshold another tenth of this process, which the measured run then lacked.
    tune_garbage_collection()
    aio.run(main())
