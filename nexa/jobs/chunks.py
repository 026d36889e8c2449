"""What batching job handlers share: one transaction for the work of many jobs, and the fallback that keeps
one bad job from failing the others. Chunked kinds (`@job(..., chunked=True)`) get their chunk from the
claim; a job whose concurrency key holds its kind to one at a time takes the jobs queued behind it
(`with_queued_behind`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.engine import Database
from nexa.jobs.claim import take_batch
from nexa.jobs.registry import ChunkFailures, ChunkJob, JobContext

logger = logging.getLogger(__name__)

T = TypeVar("T")
Items = Sequence[tuple[ChunkJob, T]]


async def together_or_alone(
    database: Database, items: Items[T], work: Callable[[AsyncSession, Items[T]], Awaitable[ChunkFailures | None]]
) -> dict[int, BaseException]:
    """Run `work` for every item in one transaction; if that fails, for each item in a transaction of its
    own, so that an item whose work fails fails only its own job (returned by job id, with the exception)
    and the others' work still commits. `work` may return jobs that did not complete although it succeeded
    (a Snooze for one that must wait), returned too once its transaction has committed."""
    if not items:
        return {}
    try:
        async with database.session() as session:
            unfinished = await work(session, items)
        return dict(unfinished or {})
    except Exception as exc:
        if len(items) == 1:
            return {items[0][0].ctx.job_id: exc}
        logger.warning("a chunk's transaction failed; doing each job's part alone", exc_info=True)
    failures: dict[int, BaseException] = {}
    for item in items:
        failures.update(await together_or_alone(database, [item], work))
    return failures


async def with_queued_behind(
    ctx: JobContext,
    args: dict[str, Any],
    limit: int,
    work: Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]],
) -> None:
    """Run `work` in one transaction for this job's `args` and those of up to `limit - 1` jobs queued behind it
    with its concurrency key, in order; those jobs complete in that transaction (`take_batch`), or go back to
    waiting with it. If that fails, `work` runs again for this job's args alone, so that a bad job fails
    only itself."""
    taken = 0
    try:
        async with ctx.database.session() as session:
            batch = []
            if ctx.concurrency_key is not None:
                batch = await take_batch(session, ctx.queue, ctx.concurrency_key, limit - 1, f"batch of job {ctx.job_id}")
            taken = len(batch)
            await work(session, [args, *(row.args for row in batch)])
        return
    except Exception:
        if not taken:
            raise
        ctx.logger.warning("a batch of %s jobs failed; doing this job's part alone", ctx.kind, exc_info=True)
    async with ctx.database.session() as session:
        await work(session, [args])
