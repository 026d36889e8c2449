"""WebSocket fan-out: one event to 5,000 connected agent sockets, and the memory of the server holding them.

    .venv/bin/python bench/ws_fanout.py [--sockets 5000] [--events 20] [--quick]

One `nexa serve --no-worker` on PostgreSQL and Redis (the scale-out mode: events reach the hub through
Redis pub/sub). 100 accounts with 50 administrators each, every one with its own API token and one
socket on `/ws` (5,000 sockets, opened 20 at a time). The bench then publishes `--events` events one
at a time on the Redis bus, as a worker process would, each naming the 100 account channels (a ~1 KB
`conversation.updated` payload), and waits until every socket has it. Latency = from the publish to
each socket's receipt, in this process; p50/p95/p99 over every delivery.

Reference, same clients and same trigger: a bare `websockets` broadcast server (bench/_ws_reference.py)
fed by the same Redis channel. Memory: RSS of the `nexa serve` process with all sockets open, after the
events. Targets (issue 8): p95 <= 200 ms at 5,000 sockets, RSS <= 500 MB. Also `ws_fanout` of
`python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    Context,
    NexaServers,
    Result,
    free_port,
    percentile,
    print_table,
    raise_fd_limit,
    rss_mb,
    scenario,
    scratch_database,
)
from nexa.auth import service as auth_service  # noqa: E402
from nexa.auth.models import AccountUser, Role, TokenOwner, User  # noqa: E402
from nexa.db.engine import Database as NexaDatabase  # noqa: E402
from nexa.realtime.events import Event, EventName, _to_wire, account_channel  # noqa: E402
from nexa.tenancy.models import Account  # noqa: E402

AGENTS_PER_ACCOUNT = 50
# Nexa authenticates each socket with the database (pool of 20 per process): a ramp, not a stampede.
CONNECT_CONCURRENCY = 20
DELIVERY_TIMEOUT = 10.0
LATENCY_TARGET_MS = 200
RSS_TARGET_MB = 500


async def make_agents(url: str, sockets: int) -> tuple[list[int], list[str]]:
    """Accounts of AGENTS_PER_ACCOUNT administrators each; returns the account ids and one API token per agent."""
    database = NexaDatabase(url)
    account_ids, tokens = [], []
    try:
        async with database.session() as session:
            for first in range(0, sockets, AGENTS_PER_ACCOUNT):
                account = Account(name=f"Fan-out {first // AGENTS_PER_ACCOUNT + 1}", plan="unlimited")
                session.add(account)
                await session.flush()
                account_ids.append(account.id)
                users = [User(name=f"Agent {n}", email=f"agent{n}@fanout.bench.example.com", pubsub_token=uuid.uuid4().hex)
                         for n in range(first, min(sockets, first + AGENTS_PER_ACCOUNT))]
                session.add_all(users)
                await session.flush()
                session.add_all(AccountUser(account_id=account.id, user_id=u.id, role=Role.administrator) for u in users)
                for user in users:
                    _, token = await auth_service.create_api_token(
                        session, owner_type=TokenOwner.user, owner_id=user.id, name="bench")
                    tokens.append(f"{account.id}:{token}")
    finally:
        await database.dispose()
    return account_ids, tokens


@dataclass
class Clients:
    """Open sockets and, per event sequence number, when each socket received it."""

    connections: list[ClientConnection] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    arrivals: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed: int = 0
    greeted: int = 0  # sockets that received a first frame
    started: float = 0.0
    connect_seconds: float = 0.0

    async def open(self, urls: list[str]) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(url: str) -> None:
            async with gate:
                try:
                    connection = await connect(url, ping_interval=None, open_timeout=60, max_queue=64)
                except Exception:  # refused, reset or timed out: counted, not fatal: the errors column shows it
                    self.failed += 1
                    return
            self.connections.append(connection)
            self.readers.append(asyncio.create_task(self._read(connection)))

        self.started = time.perf_counter()
        await asyncio.gather(*(one(url) for url in urls))

    async def _read(self, connection: ClientConnection) -> None:
        marker = '"bench_seq":'
        first = True
        try:
            async for frame in connection:
                self.greeted += first
                first = False
                text = frame if isinstance(frame, str) else frame.decode()
                at = text.find(marker)
                if at >= 0:  # presence updates and other frames are not timed
                    received = time.perf_counter()
                    self.arrivals[int(text[at + len(marker):text.index(",", at)])].append(received)
        except Exception:
            return

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)


def _event(seq: int, account_ids: list[int]) -> Event:
    # The shape and size of a real conversation.updated payload, addressed to every account's channel.
    data = {"bench_seq": seq, "id": seq, "status": "open", "meta": {"sender": {"name": "Maria Silva", "phone_number": "+5511999990000"}},
            "messages": [{"content": "Oi, tudo bem? Queria saber o valor do plano anual " * 12}], "labels": ["vip", "boleto"]}
    return Event(EventName.CONVERSATION_UPDATED, data, account_id=account_ids[0], channels=map(account_channel, account_ids))


async def fan_out(urls: list[str], account_ids: list[int], redis: Redis, channel: str, events: int,
                  pid: int | None = None, greeted: bool = False) -> tuple[list[float], int, float, float, float | None]:
    """(latencies, missing deliveries, deliveries/s, connect seconds, server RSS MB) for one server.

    `greeted`: the server sends each socket a first frame once it is subscribed (Nexa: the presence map,
    after authenticating, which comes after the WebSocket handshake): wait for all before timing."""
    clients = Clients()
    try:
        await clients.open(urls)
        deadline = time.perf_counter() + 300
        while greeted and clients.greeted < len(clients.connections) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        clients.connect_seconds = time.perf_counter() - clients.started
        await asyncio.sleep(1.0)  # let connect-time presence broadcasts drain before the clock starts
        # Sockets the server closed or never subscribed are errors, not deliveries to wait for.
        expected = sum(1 for c in clients.connections if c.state.name == "OPEN")
        expected = min(expected, clients.greeted) if greeted else expected
        latencies: list[float] = []
        missing = (len(urls) - expected) * events
        busy = 0.0
        for seq in range(events):
            started = time.perf_counter()
            await redis.publish(channel, _to_wire(_event(seq, account_ids)))
            deadline = started + DELIVERY_TIMEOUT
            while len(clients.arrivals[seq]) < expected and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            arrived = clients.arrivals[seq]
            busy += (max(arrived) - started) if arrived else DELIVERY_TIMEOUT
            latencies += [at - started for at in arrived]
            missing += expected - len(arrived)
        rss = rss_mb(pid) if pid else None
        return latencies, missing, len(latencies) / busy if busy else 0.0, clients.connect_seconds, rss
    finally:
        await clients.close()


async def reference_server(redis_url: str, channel: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench._ws_reference", "--port", str(port), "--redis", redis_url,
                                "--channel", channel], cwd=ROOT, stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = await asyncio.to_thread(process.stdout.readline)
    if b"ready" not in line:
        process.kill()
        raise RuntimeError("the reference WebSocket server did not start")
    return process, f"ws://127.0.0.1:{port}/"


async def measure(context: Context, sockets: int, events: int) -> list[Result]:
    if not context.redis_url:
        raise RuntimeError("fan-out needs Redis: set NEXA_BENCH_REDIS_URL")
    raise_fd_limit()
    prefix = f"nexa:bench:{uuid.uuid4().hex[:8]}:"  # a shared Redis: other runs' events stay out
    channel = f"{prefix}events"
    redis = Redis.from_url(context.redis_url)
    load = f"{sockets:,} sockets ({sockets // AGENTS_PER_ACCOUNT} accounts x {AGENTS_PER_ACCOUNT} agents), {events} events"
    try:
        async with scratch_database(context.database_url, "nexa_bench_ws") as database:
            servers = NexaServers(database.url, redis_url=context.redis_url, extra_env={"NEXA_REALTIME_PREFIX": prefix})
            async with servers:
                account_ids, tokens = await make_agents(database.url, sockets)
                base = servers.url().replace("http://", "ws://")
                urls = [f"{base}/ws?account_id={t.split(':', 1)[0]}&token={t.split(':', 1)[1]}" for t in tokens]
                idle_rss = rss_mb(servers.processes[0].pid)
                ours = await fan_out(urls, account_ids, redis, channel, events, servers.processes[0].pid, greeted=True)
            process, url = await reference_server(context.redis_url, channel)
            try:
                theirs = await fan_out([url] * sockets, account_ids, redis, channel, events, process.pid)
            finally:
                process.kill()
                process.wait()
    finally:
        await redis.aclose()

    latencies, missing, rate, connect_seconds, rss = ours
    raw_latencies, raw_missing, raw_rate, raw_connect, raw_rss = theirs
    p95, raw_p95 = percentile(latencies, 0.95) * 1000, percentile(raw_latencies, 0.95) * 1000
    judged = not context.quick
    return [
        Result.from_seconds(
            "ws fan-out", load, latencies, throughput=rate, unit="deliveries/s", errors=missing,
            reference=f"bare websockets p95 {raw_p95:.1f} ms, {raw_rate:,.0f}/s ({raw_missing} missed)",
            ratio=p95 / raw_p95, target=f"p95 <= {LATENCY_TARGET_MS} ms", met=p95 <= LATENCY_TARGET_MS if judged else None,
            note=f"connect {sockets / connect_seconds:,.0f} sockets/s (bare {sockets / raw_connect:,.0f}/s)"),
        Result("ws fan-out: server memory", load, errors=0,
               reference=f"bare websockets {raw_rss:.0f} MB", ratio=(rss or 0) / (raw_rss or 1),
               target=f"RSS <= {RSS_TARGET_MB} MB", met=(rss or 0) <= RSS_TARGET_MB if judged else None,
               note=f"nexa serve RSS {rss:.0f} MB with {sockets:,} sockets (idle {idle_rss:.0f} MB)"),
    ]


@scenario("ws_fanout", "one event to 5,000 agent sockets on /ws (p95 delivery, server RSS) vs a bare websockets server")
async def ws_fanout(context: Context) -> list[Result]:
    return await measure(context, 100 if context.quick else 5000, 3 if context.quick else 20)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="100 sockets, 3 events")
    options = parser.parse_args()
    context = Context(quick=options.quick)
    sockets, events = (100, 3) if options.quick else (options.sockets, options.events)
    print_table(await measure(context, sockets, events))


if __name__ == "__main__":
    asyncio.run(main())
