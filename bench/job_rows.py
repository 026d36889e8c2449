"""CPU per job row written in a caller's transaction: ORM `add_job` rows flushed together, against one
`insert_jobs` Core INSERT (what a batch of messages does for its deliveries and bot turns).

    .venv/bin/python bench/job_rows.py [--jobs 40] [--rounds 60] [--repeats 3]

Each round writes `--jobs` delivery jobs in one transaction on a scratch PostgreSQL database, one way or
the other, alternated; prints the CPU of this process per job row for each way and their ratio.
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
from nexa.jobs.enqueue import NewJob, add_job, insert_jobs  # noqa: E402
from nexa.jobs.models import Job  # noqa: E402


async def write_round(database: Database, way: str, jobs: int, tag: str) -> float:
    """CPU seconds to add `jobs` delivery jobs in one transaction (the commit not counted)."""
    async with database.session() as session:
        started = time.process_time()
        if way == "orm":
            for n in range(jobs):
                add_job(session, DELIVERY_JOB, {"message_id": n}, queue="deliveries", account_id=1,
                        concurrency_key=f"conversation:{n}", dedupe_key=f"deliver:{tag}:{n}")
            await session.flush()
        else:
            await insert_jobs(session, DELIVERY_JOB, [
                NewJob({"message_id": n}, account_id=1, concurrency_key=f"conversation:{n}", dedupe_key=f"deliver:{tag}:{n}")
                for n in range(jobs)
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
            for repeat in range(options.repeats):
                spent = {"orm": 0.0, "core": 0.0}
                for n in range(options.rounds):
                    for way in spent:
                        spent[way] += await write_round(database, way, options.jobs, f"{repeat}:{n}:{way}")
                rows = options.jobs * options.rounds
                orm, core = (1e6 * spent[way] / rows for way in ("orm", "core"))
                print(f"{options.jobs} jobs per transaction: ORM add_job {orm:6.1f} us, insert_jobs {core:6.1f} us "
                      f"of CPU per job; ratio {core / orm:.2f}")
        finally:
            await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
