"""The transactional outbox: a domain change and the job that fans it out to webhooks commit together.

Each domain's `_emit` (conversations, messages, contacts) calls `record_event` next to its realtime
publish. The fan-out job row is added to the caller's session (nexa.jobs.enqueue.add_job) and commits
with the domain's own writes, so a crash right after the commit loses nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.jobs.enqueue import add_job
from nexa.realtime import EventName

FANOUT_JOB = "webhooks.fanout"
WEBHOOKS_QUEUE = "webhooks"
_FANOUT_ATTEMPTS = 20


def record_event(
    session: AsyncSession,
    name: EventName | str,
    account_id: int,
    *,
    inbox_id: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    contact_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Queue `name` (a realtime event name, or a webhook event name for changes that have no realtime
    event, e.g. "inbox_created") for the account's webhooks, the API inbox's webhook_url and the inbox's bot."""
    args = {
        "event": str(name),
        "inbox_id": inbox_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "contact_id": contact_id,
        "data": data or {},
    }
    # One account's events are fanned out in the order they were recorded, so each target's deliveries
    # are created (and, by their own key, sent) in that order.
    add_job(
        session, FANOUT_JOB, args, queue=WEBHOOKS_QUEUE, max_attempts=_FANOUT_ATTEMPTS, account_id=account_id,
        concurrency_key=f"webhooks:fanout:{account_id}",
    )
