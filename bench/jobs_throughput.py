"""Jobs engine throughput on PostgreSQL: no-op jobs through 2 `nexa worker` processes vs a raw asyncpg loop.

    .venv/bin/python bench/jobs_throughput.py [--jobs 20000] [--batch 20] [--rounds 2]

The raw loop is the floor of what any engine can do with this table: the same claim statement
(`UPDATE .. WHERE id IN (SELECT .. FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`) and a batched
`UPDATE .. SET state = 'completed'`, with no handler, no bookkeeping and no ORM, over as many
connections as the engine has worker processes. The engine's jobs/s divided by the raw loop's is
the ratio to watch. Creates and drops its own database next to NEXA_BENCH_DATABASE_URL's.
Also the `jobs` scenario of `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import DEFAULT_DATABASE_URL, Context, Result, scenario, scratch_database  # noqa: E402
from nexa.jobs.models import Job  # noqa: E402
from nexa.jobs.registry import JobContext, job  # noqa: E402
WORKER_PROCESSES = 2


@job("bench.noop")
async def noop(ctx: JobContext) -> None:
    return None


_INSERT = """
INSERT INTO jobs (queue, kind, args, state, priority, attempt, max_attempts, scheduled_at,
                  errors, meta, inserted_at)
SELECT 'default', 'bench.noop', '{}', 'available', 5, 0, 20, now(), '[]', '{}', now()
FROM generate_series(1, $1)
"""

_RAW_CLAIM = """
UPDATE jobs SET state = 'executing', attempt = attempt + 1, attempted_at = now(),
                attempted_by = $2, heartbeat_at = now()
WHERE id IN (
    SELECT id FROM jobs WHERE state = 'available' AND queue = 'default'
    ORDER BY priority, scheduled_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, args
"""

_RAW_COMPLETE = "UPDATE jobs SET state = 'completed', completed_at = now() WHERE id = ANY($1::bigint[])"

_UNFINISHED = "SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN ('available', 'executing'))"


async def _fill(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE jobs RESTART IDENTITY")
        async with conn.transaction():
            await conn.execute(_INSERT, count)
        await conn.execute("VACUUM ANALYZE jobs")
    finally:
        await conn.close()


async def _raw_loop(dsn: str, batch: int, name: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            async with conn.transaction():
                rows = await conn.fetch(_RAW_CLAIM, batch, name)
            if not rows:
                return
            async with conn.transaction():
                await conn.execute(_RAW_COMPLETE, [row["id"] for row in rows])
    finally:
        await conn.close()


async def _run_raw(dsn: str, count: int, batch: int) -> float:
    await _fill(dsn, count)
    started = time.perf_counter()
    await asyncio.gather(*(_raw_loop(dsn, batch, f"raw-{i}") for i in range(WORKER_PROCESSES)))
    return time.perf_counter() - started


async def _run_engine(dsn: str, url: str, count: int, batch: int) -> float:
    await _fill(dsn, 0)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        "NEXA_DATABASE_URL": url,
        "NEXA_JOB_MODULES": "jobs_throughput",
        "NEXA_WORKER_QUEUES": f"default:{batch}",
        "NEXA_LOG_LEVEL": "WARNING",
    }
    workers = [
        subprocess.Popen([sys.executable, "-m", "nexa.jobs.cli", "worker", "--queues", "default"], cwd=ROOT, env=env)
        for _ in range(WORKER_PROCESSES)
    ]
    conn = await asyncpg.connect(dsn)
    try:
        await _wait_for_listeners(conn)
        async with conn.transaction():
            await conn.execute(_INSERT, count)
            # What enqueue() does on PostgreSQL: wake every worker at commit.
            await conn.execute("SELECT pg_notify('nexa_jobs', 'default')")
        started = time.perf_counter()
        while await conn.fetchval(_UNFINISHED):
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        completed = await conn.fetchval("SELECT count(*) FROM jobs WHERE state = 'completed'")
        assert completed == count, f"{completed} of {count} jobs completed"
        return elapsed
    finally:
        await conn.close()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)


async def _wait_for_listeners(conn: asyncpg.Connection) -> None:
    deadline = time.monotonic() + 120  # a busy shared machine starts Python processes slowly
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    while await conn.fetchval(query) < WORKER_PROCESSES:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start within 120 s")
        await asyncio.sleep(0.1)
    # Let the first claims and staging passes settle before the clock starts.
    await asyncio.sleep(0.5)


async def measure(base_url: str, jobs: int, batch: int, rounds: int) -> tuple[float, float]:
    """Best-of-`rounds` seconds for `jobs` jobs: (raw loop, nexa workers), in a throw-away database."""
    async with scratch_database(base_url, "nexa_bench_jobs") as database:
        engine = create_async_engine(database.url)
        async with engine.begin() as conn:
            await conn.run_sync(Job.__table__.create)
        await engine.dispose()
        raw = min([await _run_raw(database.dsn, jobs, batch) for _ in range(rounds)])
        nexa = min([await _run_engine(database.dsn, database.url, jobs, batch) for _ in range(rounds)])
    return raw, nexa


@scenario("jobs", "no-op jobs through 2 `nexa worker` processes vs a raw asyncpg claim + complete loop")
async def jobs_scenario(context: Context) -> list[Result]:
    jobs, batch, rounds = (300, 20, 1) if context.quick else (20_000, 20, 2)
    raw, nexa = await measure(context.database_url, jobs, batch, rounds)
    return [Result("jobs", f"{jobs:,} no-op jobs, {WORKER_PROCESSES} workers, best of {rounds}",
                   throughput=jobs / nexa, unit="jobs/s", reference=f"raw claim loop {jobs / raw:,.0f} jobs/s",
                   ratio=raw / nexa, target=">= 2,000 jobs/s, ratio >= 0.40",
                   met=None if context.quick else jobs / nexa >= 2000 and raw / nexa >= 0.4)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20, help="queue limit per worker = raw claim size")
    parser.add_argument("--rounds", type=int, default=2, help="best of this many runs of each")
    options = parser.parse_args()

    base = os.environ.get("NEXA_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    raw, nexa = await measure(base, options.jobs, options.batch, options.rounds)

    raw_rate, nexa_rate = options.jobs / raw, options.jobs / nexa
    print(f"\n{options.jobs} no-op jobs, {WORKER_PROCESSES} workers/connections, batch {options.batch}, "
          f"best of {options.rounds}\n")
    print(f"{'runner':<34}{'seconds':>10}{'jobs/s':>12}{'ratio':>8}")
    print(f"{'raw asyncpg claim + complete loop':<34}{raw:>10.2f}{raw_rate:>12,.0f}{1:>8.2f}")
    print(f"{'nexa worker processes':<34}{nexa:>10.2f}{nexa_rate:>12,.0f}{nexa_rate / raw_rate:>8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
