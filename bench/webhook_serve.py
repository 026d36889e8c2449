"""CPU that `nexa serve` spends per provider webhook, next to a bare server doing the same HTTP work.

    .venv/bin/python bench/webhook_serve.py [--webhooks 3000] [--concurrency 32] [--rounds 3]

Prints, measured in the same run with the same load generator and the same signed WhatsApp bodies (a
text, or a status receipt, alternately):
- reference: uvicorn serving a bare ASGI function that reads the body, checks its X-Hub-Signature-256
  and parses its JSON, then answers 200 (no framework, no database): the floor of this request;
- Nexa: one `nexa serve --no-worker` on PostgreSQL (the webhook stored, committed before the 2xx, and
  left for a worker, none running here).
For each: CPU milliseconds of the server process per webhook (user + system, from /proc; less sensitive
to a busy machine than wall-clock figures), webhooks per second and ack latency percentiles. The ratio
is Nexa's CPU per webhook over the reference's. Each is run `--rounds` times, in turn, and the median
round is printed. Creates and drops its own database next to NEXA_BENCH_DATABASE_URL's.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import cpu_seconds, free_port, stop_processes, wait_healthy
from bench.inbound_pipeline import MS, Body, Servers, bench_database, burst, percentile, whatsapp_inbox
from nexa.devtools.fake_graph import FakeGraph

REFERENCE_SECRET_ENV = "NEXA_BENCH_REFERENCE_APP_SECRET"
_OK = b'{"status":"ok","queued":1}'


async def reference_app(scope: dict, receive: Callable, send: Callable) -> None:
    """The reference server: what any webhook endpoint must do, and nothing else."""
    if scope["type"] != "http":  # lifespan
        message = await receive()
        while message["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["method"] == "GET":  # the health check
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    given = dict(scope["headers"]).get(b"x-hub-signature-256", b"")
    expected = b"sha256=" + hmac.new(os.environ[REFERENCE_SECRET_ENV].encode(), body, hashlib.sha256).hexdigest().encode()
    status = 200 if hmac.compare_digest(given, expected) and isinstance(json.loads(body), dict) else 403
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(_OK)).encode())]})
    await send({"type": "http.response.body", "body": _OK})


def bodies(fake: FakeGraph, tag: str, count: int) -> list[Body]:
    """Signed webhooks, alternately a customer's text and a status receipt (the full loop's mix is 1 to 2)."""
    made = []
    for n in range(count):
        wamid = f"wamid.{tag}.{n}"
        customer = f"55119{n % 500:08d}"
        payload = fake.webhook(messages=[fake.text_message(f"{tag} {n}", from_=customer, id=wamid)]) if n % 2 == 0 \
            else fake.webhook(statuses=[fake.status(f"wamid.out.{tag}.{n}", "delivered", recipient=customer)])
        raw, headers = fake.signed(payload)
        made.append((wamid, raw, headers))
    return made


@dataclass
class Round:
    cpu_ms_per_webhook: float
    rate: float
    acks: list[float]
    errors: int


async def measure(servers: Servers, pid: int, path: str, load: list[Body], concurrency: int) -> Round:
    before = cpu_seconds(pid)
    done = await burst(servers, path, load, concurrency)
    return Round((cpu_seconds(pid) - before) * MS / len(load), len(load) / done.elapsed, done.acks, done.errors)


class ReferenceServer(Servers):
    """uvicorn serving `reference_app`, started and measured like `Servers`."""

    def __init__(self, app_secret: str) -> None:
        self.ports = [free_port()]
        self.env = {**os.environ, REFERENCE_SECRET_ENV: app_secret, "PYTHONPATH": str(ROOT)}
        self.processes = []

    async def start(self) -> None:
        self._spawn()
        await wait_healthy(self.url(0))

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "bench.webhook_serve:reference_app", "--port", str(self.ports[0]),
                   "--log-level", "warning", "--no-access-log"]
        self.processes.append(subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL))

    def stop(self) -> None:
        stop_processes(self.processes)


def line(name: str, rounds: list[Round], reference: float) -> str:
    middle = sorted(rounds, key=lambda r: r.cpu_ms_per_webhook)[len(rounds) // 2]
    return (f"{name:<40}{middle.cpu_ms_per_webhook:>10.2f}{middle.cpu_ms_per_webhook / reference:>8.2f}"
            f"{middle.rate:>9,.0f}{percentile(middle.acks, .5) * MS:>9.1f}{percentile(middle.acks, .95) * MS:>9.1f}"
            f"{sum(r.errors for r in rounds):>8}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhooks", type=int, default=3000, help="webhooks posted per round and server")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    fake = FakeGraph()  # its webhook builders and signing only
    async with bench_database("nexa_bench_webhook_serve") as (database, _dsn):
        nexa = Servers(database, 1, 0, Path(f"/tmp/nexa_bench_{uuid.uuid4().hex[:8]}"))
        reference = ReferenceServer(fake.app_secret)
        try:
            await nexa.start()
            await reference.start()
            _, _, path = await whatsapp_inbox(nexa.url(0), fake)
            await burst(nexa, path, bodies(fake, "warmup", 300), options.concurrency)
            await burst(reference, path, bodies(fake, "warmup", 300), options.concurrency)
            nexa_rounds, reference_rounds = [], []
            for n in range(options.rounds):
                load = bodies(fake, f"r{n}", options.webhooks)
                reference_rounds.append(await measure(reference, reference.processes[0].pid, path, load, options.concurrency))
                nexa_rounds.append(await measure(nexa, nexa.processes[0].pid, path, load, options.concurrency))
        finally:
            nexa.stop()
            reference.stop()

    floor = statistics.median(r.cpu_ms_per_webhook for r in reference_rounds)
    print(f"\n{options.webhooks} signed WhatsApp webhooks (texts and receipts) per round, {options.concurrency} in "
          f"flight, median of {options.rounds} rounds; load average {os.getloadavg()[0]:.2f}\n")
    print(f"{'server':<40}{'CPU ms/wh':>10}{'ratio':>8}{'wh/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    print(line("reference: bare ASGI, verify + parse", reference_rounds, floor))
    print(line("nexa serve: verify, parse, store", nexa_rounds, floor))


if __name__ == "__main__":
    asyncio.run(main())
