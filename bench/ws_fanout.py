"""WebSocket fan-out: one event to 5,000 connected agent sockets, and the memory of the server holding them.

    .venv/bin/python bench/ws_fanout.py [--sockets 5000] [--events 20] [--client-processes 1] [--quick]

One `nexa serve --no-worker` on PostgreSQL and Redis (the scale-out mode: events reach the hub through
Redis pub/sub). 100 accounts with 50 administrators each, every one with its own API token and one
socket on `/ws` (5,000 sockets, opened 20 at a time). The bench then publishes `--events` events one
at a time on the Redis bus, as a worker process would, each naming the 100 account channels (a ~1 KB
`conversation.updated` payload), and waits until every socket has it. Latency = from the publish to
each socket's receipt; p50/p95/p99 over every delivery. The sockets are held by `--client-processes`
processes (default 1) of minimal clients on raw asyncio protocols (see `BenchSocket`), so the client is
not the floor; the row's note gives the server's and the clients' CPU per event, which depend less on the
load of a shared machine than latency does.

Reference, same clients and same trigger: a bare `websockets` broadcast server (bench/_ws_reference.py)
fed by the same Redis channel. Memory: RSS of the `nexa serve` process with all sockets open, after the
events. Targets (issue 8): p95 <= 200 ms at 5,000 sockets, RSS <= 500 MB. Also `ws_fanout` of
`python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import multiprocessing
import os
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (
    Context,
    NexaServers,
    Result,
    cpu_seconds,
    free_port,
    percentile,
    print_table,
    raise_fd_limit,
    rss_mb,
    scenario,
    scratch_database,
)
from nexa.auth import service as auth_service
from nexa.auth.models import AccountUser, Role, TokenOwner, User
from nexa.db.engine import Database as NexaDatabase
from nexa.realtime.events import Event, EventName, _to_wire, account_channel
from nexa.tenancy.models import Account

AGENTS_PER_ACCOUNT = 50
# Nexa authenticates each socket with the database (pool of 20 per process): a ramp, not a stampede.
CONNECT_CONCURRENCY = 20
DELIVERY_TIMEOUT = 10.0
LATENCY_TARGET_MS = 200
RSS_TARGET_MB = 500
# One client process reads 5,000 frames in a fraction of the server's time (the note of the row says how much):
# on 2 cores more processes only compete with the server.
CLIENT_PROCESSES = 1


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


# The bench's clients. Reading 5,000 frames per event through the `websockets` library cost the client
# process as much CPU as the server it measured, on the same 2 cores: the client was the floor. This client
# does the WebSocket handshake by hand on raw asyncio protocols (uvloop) and reads each server frame with
# the least work timing needs: its header, then a search of the payload for the sequence marker. It runs in
# its own process, so the server's CPU and the client's are told apart, and the latency is from the publish
# in the parent to the receipt here, both read on CLOCK_MONOTONIC (one clock for every process on Linux).

WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SEQUENCE_MARKER = b'"bench_seq":'
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def clock() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class BenchSocket(asyncio.Protocol):
    """One client WebSocket: the opening handshake, then server frames (unmasked, RFC 6455 5.1) read in place."""

    def __init__(self, request: bytes, accept: bytes, arrivals: dict[int, list[float]]) -> None:
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.open = False
        self.greeted = False  # the server sent a first frame
        self.close_code: int | None = None
        self._request = request
        self._accept = accept
        self._arrivals = arrivals
        self._transport: asyncio.Transport | None = None
        self._pending = b""  # an incomplete handshake response or frame

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        if self._pending:
            data, self._pending = self._pending + data, b""
        if not self.open:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self._pending = data
                return
            self._handshake(data[:end])
            if not self.open:
                return
            data = data[end + 4:]
        self._frames(data)

    def _handshake(self, response: bytes) -> None:
        status, *lines = response.split(b"\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines)}
        if not status.startswith(b"HTTP/1.1 101 ") or headers.get(b"sec-websocket-accept") != self._accept:
            self.opened.set_exception(ConnectionError(f"handshake refused: {status.decode(errors='replace')}"))
            self._transport.close()  # type: ignore[union-attr]
            return
        self.open = True
        self.opened.set_result(None)

    def _frames(self, data: bytes) -> None:
        at, end, received = 0, len(data), 0.0
        while end - at >= 2:
            opcode, length, start = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
            if length == 126:
                length, start = int.from_bytes(data[at + 2:at + 4]), at + 4
            elif length == 127:
                length, start = int.from_bytes(data[at + 2:at + 10]), at + 10
            stop = start + length
            if stop > end:
                break
            if opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                self.greeted = True
                found = data.find(SEQUENCE_MARKER, start, stop)
                if found >= 0:  # presence updates and other frames are not timed
                    received = received or clock()
                    digits = found + len(SEQUENCE_MARKER)
                    self._arrivals[int(data[digits:data.index(b",", digits, stop)])].append(received)
            elif opcode == OP_PING:
                self._send(OP_PONG, data[start:stop])
            elif opcode == OP_CLOSE:
                self.close_code = int.from_bytes(data[start:start + 2]) if length >= 2 else 1005
                self.close()
                return
            at = stop
        self._pending = data[at:]

    def _send(self, opcode: int, payload: bytes) -> None:
        # Client frames are masked (RFC 6455 5.3); control payloads are at most 125 bytes.
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
        self._transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)  # type: ignore[union-attr]

    def close(self) -> None:
        if self.open and not self._transport.is_closing():  # type: ignore[union-attr]
            self._send(OP_CLOSE, (1000).to_bytes(2))
        self.open = False
        self._transport.close()  # type: ignore[union-attr]


async def open_socket(url: str, arrivals: dict[int, list[float]], timeout: float) -> BenchSocket:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID).digest())
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = (f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        _, socket = await loop.create_connection(lambda: BenchSocket(request, accept, arrivals), parts.hostname,
                                                 parts.port)
        await socket.opened
    return socket


def _event(seq: int, account_ids: list[int]) -> Event:
    # The shape and size of a real conversation.updated payload, addressed to every account's channel.
    data = {"bench_seq": seq, "id": seq, "status": "open", "meta": {"sender": {"name": "Maria Silva", "phone_number": "+5511999990000"}},
            "messages": [{"content": "Oi, tudo bem? Queria saber o valor do plano anual " * 12}], "labels": ["vip", "boleto"]}
    return Event(EventName.CONVERSATION_UPDATED, data, account_id=account_ids[0], channels=map(account_channel, account_ids))


@dataclass
class Delivery:
    """What one server did with the events: latencies, deliveries missed, CPU, memory."""

    latencies: list[float]
    missing: int
    rate: float  # deliveries per second while an event was in flight
    connect_seconds: float
    server_cpu_ms: float  # server CPU per event
    client_cpu_ms: float  # CPU per event of all client processes together
    rss: float


async def fan_out(urls: list[str], account_ids: list[int], redis: Redis, channel: str, events: int, pid: int,
                  client_processes: int, greeted: bool = False) -> Delivery:
    """Open `urls` from `client_processes` processes, publish `events` events one at a time, time them.

    `greeted`: the server sends each socket a first frame once it is subscribed (Nexa: the presence map,
    after authenticating, which comes after the WebSocket handshake): wait for all before timing."""
    context = multiprocessing.get_context("spawn")
    clients: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for share in range(client_processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=run_clients, args=(theirs, urls[share::client_processes], greeted),
                                      daemon=True)
            process.start()
            theirs.close()  # the child's end lives in the child: a child that dies ends `recv` here with EOFError
            clients.append((process, ours))

        async def ask(*command: object) -> list[Any]:
            for _, pipe in clients:
                pipe.send(command)
            return await asyncio.gather(*(asyncio.to_thread(pipe.recv) for _, pipe in clients))

        connect_seconds = max(await ask("open"))
        await asyncio.sleep(1.0)  # let connect-time presence broadcasts drain before the clock starts
        # Sockets the server closed or never subscribed are errors, not deliveries to wait for.
        expected = sum(await ask("count"))
        latencies: list[float] = []
        missing = (len(urls) - expected) * events
        busy = 0.0
        server_cpu, client_cpu = cpu_seconds(pid), sum(cpu_seconds(p.pid) for p, _ in clients)  # type: ignore[arg-type]
        for seq in range(events):
            started = clock()
            await redis.publish(channel, _to_wire(_event(seq, account_ids)))
            arrived = [at for times in await ask("collect", seq, started + DELIVERY_TIMEOUT) for at in times]
            busy += (max(arrived) - started) if arrived else DELIVERY_TIMEOUT
            latencies += [at - started for at in arrived]
            missing += expected - len(arrived)
        server_cpu = cpu_seconds(pid) - server_cpu
        client_cpu = sum(cpu_seconds(p.pid) for p, _ in clients) - client_cpu  # type: ignore[arg-type]
        return Delivery(latencies, missing, len(latencies) / busy if busy else 0.0, connect_seconds,
                        server_cpu * 1000 / events, client_cpu * 1000 / events, rss_mb(pid))
    finally:
        for process, pipe in clients:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()


def run_clients(pipe: Connection, urls: list[str], greeted: bool) -> None:
    """A client process: opens its sockets, then answers the parent's commands until told to close."""
    raise_fd_limit()
    uvloop.run(_clients(pipe, urls, greeted))


async def _clients(pipe: Connection, urls: list[str], greeted: bool) -> None:
    arrivals: dict[int, list[float]] = defaultdict(list)
    sockets: list[BenchSocket] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url: str) -> None:
        async with gate:
            with contextlib.suppress(OSError, TimeoutError):  # refused, reset or timed out: the errors column
                sockets.append(await open_socket(url, arrivals, timeout=60))

    def live() -> list[BenchSocket]:
        return [s for s in sockets if s.open and (s.greeted or not greeted)]

    while True:
        command, *arguments = await asyncio.to_thread(pipe.recv)
        if command == "open":
            started = clock()
            await asyncio.gather(*(one(url) for url in urls))
            deadline = clock() + 300
            while greeted and len(live()) < sum(s.open for s in sockets) and clock() < deadline:
                await asyncio.sleep(0.05)
            pipe.send(clock() - started)
        elif command == "count":
            expected = len(live())
            pipe.send(expected)
        elif command == "collect":
            seq, deadline = arguments
            while len(arrivals[seq]) < expected and clock() < deadline:
                await asyncio.sleep(0.01)  # the arrivals hold their own times: this only notices the end
            pipe.send(arrivals.pop(seq, []))
        else:
            for socket in sockets:
                socket.close()
            await asyncio.sleep(0.1)  # the close frames go out
            return


async def reference_server(redis_url: str, channel: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._ws_reference", "--port", str(port), "--redis", redis_url, "--channel", channel,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    if b"ready" not in await process.stdout.readline():
        process.kill()
        await process.wait()
        raise RuntimeError("the reference WebSocket server did not start")
    return process, f"ws://127.0.0.1:{port}/"


async def measure(context: Context, sockets: int, events: int, client_processes: int = CLIENT_PROCESSES) -> list[Result]:
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
                ours = await fan_out(urls, account_ids, redis, channel, events, servers.processes[0].pid,
                                     client_processes, greeted=True)
            process, url = await reference_server(context.redis_url, channel)
            try:
                theirs = await fan_out([url] * sockets, account_ids, redis, channel, events, process.pid,
                                       client_processes)
            finally:
                process.kill()
                await process.wait()
    finally:
        await redis.aclose()

    p95, raw_p95 = percentile(ours.latencies, 0.95) * 1000, percentile(theirs.latencies, 0.95) * 1000
    judged = not context.quick
    load_average = "/".join(f"{n:.1f}" for n in os.getloadavg())
    return [
        Result.from_seconds(
            "ws fan-out", load, ours.latencies, throughput=ours.rate, unit="deliveries/s", errors=ours.missing,
            reference=f"bare websockets p95 {raw_p95:.1f} ms, {theirs.rate:,.0f}/s ({theirs.missing} missed), "
                      f"server CPU {theirs.server_cpu_ms:.0f} ms/event",
            ratio=p95 / raw_p95, target=f"p95 <= {LATENCY_TARGET_MS} ms", met=p95 <= LATENCY_TARGET_MS if judged else None,
            note=f"server CPU {ours.server_cpu_ms:.0f} ms/event; clients' CPU {ours.client_cpu_ms:.0f} ms/event "
                 f"({client_processes} process{'es' if client_processes > 1 else ''}; bare run {theirs.client_cpu_ms:.0f}); "
                 f"connect {sockets / ours.connect_seconds:,.0f} sockets/s (bare {sockets / theirs.connect_seconds:,.0f}/s); "
                 f"load average {load_average}"),
        Result("ws fan-out: server memory", load, errors=0,
               reference=f"bare websockets {theirs.rss:.0f} MB", ratio=(ours.rss or 0) / (theirs.rss or 1),
               target=f"RSS <= {RSS_TARGET_MB} MB", met=(ours.rss or 0) <= RSS_TARGET_MB if judged else None,
               note=f"nexa serve RSS {ours.rss:.0f} MB with {sockets:,} sockets (idle {idle_rss:.0f} MB)"),
    ]


@scenario("ws_fanout", "one event to 5,000 agent sockets on /ws (p95 delivery, server RSS) vs a bare websockets server")
async def ws_fanout(context: Context) -> list[Result]:
    return await measure(context, 100 if context.quick else 5000, 3 if context.quick else 20)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES)
    parser.add_argument("--quick", action="store_true", help="100 sockets, 3 events")
    options = parser.parse_args()
    context = Context(quick=options.quick)
    sockets, events = (100, 3) if options.quick else (options.sockets, options.events)
    print_table(await measure(context, sockets, events, options.client_processes))


if __name__ == "__main__":
    asyncio.run(main())
