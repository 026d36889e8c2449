"""Prometheus metrics for jobs, all named `nexa_jobs_*`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select

from nexa.db.engine import Database
from nexa.jobs.models import AVAILABLE, Job, state_is
from nexa.kit.clock import utcnow
from nexa.observability.prometheus import child

JOBS_FINISHED = Counter(
    "nexa_jobs_finished_total", "Job attempts finished, by kind and resulting state.", ["kind", "state"]
)
JOB_DURATION = Histogram(
    "nexa_jobs_duration_seconds",
    "Wall time of one job attempt, by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
QUEUE_DEPTH = Gauge("nexa_jobs_queue_depth", "Available jobs waiting for a worker, by queue.", ["queue"])
OLDEST_AVAILABLE_AGE = Gauge(
    "nexa_jobs_oldest_available_age_seconds",
    "Seconds the oldest available job of the queue has been due.",
    ["queue"],
)


def record_finished(kind: str, state: str, seconds: float) -> None:
    child(JOBS_FINISHED, kind, state).inc()
    child(JOB_DURATION, kind).observe(seconds)


async def refresh_queue_metrics(database: Database) -> dict[str, tuple[int, float]]:
    """Read depth and oldest-due age per queue into the gauges; return {queue: (depth, age)}.

    Queues that drained since the last refresh are set to zero rather than left at their old value.
    """
    now = utcnow()
    stmt = (
        select(Job.queue, func.count(), func.min(Job.scheduled_at))
        .where(state_is(AVAILABLE))
        .group_by(Job.queue)
    )
    async with database.session(write=False) as session:
        rows = (await session.execute(stmt)).all()
    found = {
        queue: (int(count), max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        for queue, count, oldest in rows
    }
    known = {labels[0] for labels in _labelsets(QUEUE_DEPTH)}
    for queue in known | set(found):
        depth, age = found.get(queue, (0, 0.0))
        QUEUE_DEPTH.labels(queue).set(depth)
        OLDEST_AVAILABLE_AGE.labels(queue).set(age)
    return found


def _labelsets(gauge: Gauge) -> list[tuple[str, ...]]:
    return [tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples]
