"""The bulk action job: the selection is changed a batch of conversations per transaction, so a large
selection never holds the database's write lock for long and a retry redoes at most one batch."""

from __future__ import annotations

from typing import Any

from nexa.bulk_actions import service
from nexa.conversations import service as conversations
from nexa.jobs.registry import Discard, JobContext, job

BATCH = 50


@job(service.BULK_JOB, max_attempts=5)
async def apply_bulk_action(
    ctx: JobContext, conversation_ids: list[int], user_id: int, fields: dict[str, Any],
    labels: dict[str, list[str]] | None = None,
) -> None:
    assert ctx.account_id is not None
    actor = conversations.Actor(user_id=user_id)
    for start in range(0, len(conversation_ids), BATCH):
        async with ctx.database.session() as session:
            applied = await service.apply(
                session, ctx.account_id, conversation_ids[start:start + BATCH], actor=actor, fields=fields,
                labels=labels,
            )
        if not applied:
            raise Discard("the user who asked is no longer a member of the account")
