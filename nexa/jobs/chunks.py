"""What chunked job handlers (`@job(..., chunked=True)`) share: one transaction for a chunk's work, and
the fallback that keeps one bad job from failing the others."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.engine import Database
from nexa.jobs.registry import ChunkFailures, ChunkJob

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
