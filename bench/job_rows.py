"""CPU per job row written in a caller's transaction, three ways: ORM `Job` rows flushed together (what
`add_job` did until session 14), `add_job` (kept in the session, written at commit with one INSERT per
kind), and one `insert_jobs` Core INSERT (what a batch of messages does for its deliveries and bot turns).

    .venv/bin/python bench/job_rows.py [--jobs 40] [--rounds 60] [--repeats 3]

Each round writes `--jobs` delivery jobs in one transaction on a scratch PostgreSQL database, each way in
turn; prints the CPU of this process per job row for each way (the transaction's commit included) and
their ratios to the ORM rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy import delete

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inbound_pipeline import bench_database  # noqa: E402
from nexa.conversations.messages import DELIVERY_JOB  # noqa: E402
from nexa.db.engine import Database  # noqa: E402
from nexa.jobs.enqueue import NewJob, _job_values, add_job, insert_jobs  # noqa: E402
from nexa.jobs.models import Job  # noqa: E402

WAYS = ("orm rows", "add_job", "insert_jobs")


async def write_round(database: Database, way: str, jobs: int) -> float:
    """CPU seconds to add `jobs` delivery jobs in one transaction and commit it."""
    started = time.process_time()
    async with database.session() as session:
        if way == "orm rows":
            for n in range(jobs):
                session.add(Job(**_job_values(DELIVERY_JOB, {"message_id": n}, queue="deliveries", account_id=1,
                                              concurrency_key=f"conversation:{n}")))
        elif way == "add_job":
            for n in range(jobs):
                add_job(session, DELIVERY_JOB, {"message_id": n}, queue="deliveries", account_id=1,
                        concurrency_key=f"conversation:{n}")
        else:
            await insert_jobs(session, DELIVERY_JOB, [
                NewJob({"message_id": n}, account_id=1, concurrency_key=f"conversation:{n}") for n in range(jobs)
            ], queue="deliveries")
    spent = time.process_time() - started
    async with database.session() as session:
        await session.execute(delete(Job))
    return spent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    async with bench_database("nexa_bench_job_rows") as (url, _dsn):
        database = Database(url)
        try:
            for _repeat in range(options.repeats):
                spent = dict.fromkeys(WAYS, 0.0)
                for _round in range(options.rounds):
                    for way in WAYS:
                        spent[way] += await write_round(database, way, options.jobs)
                per_job = {way: 1e6 * seconds / (options.jobs * options.rounds) for way, seconds in spent.items()}
                print(f"{options.jobs} jobs per transaction, CPU per job: " + ", ".join(
                    f"{way} {per_job[way]:6.1f} us ({per_job[way] / per_job['orm rows']:.2f})" for way in WAYS
                ))
        finally:
            await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
