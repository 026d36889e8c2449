"""The transactional outbox: a domain change and the job that fans it out to webhooks commit together.

Each domain's `_emit` (conversations, messages, contacts) calls `record_event` next to its realtime
publish. `_emit` is synchronous, so the fan-out job row is added to the session directly (it is flushed
with the domain's own writes); no after-commit hook is involved, so a crash right after the commit
loses nothing. Workers find it on their next poll (NEXA_WORKER_POLL_INTERVAL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.jobs.models import AVAILABLE, Job
from nexa.kit.clock import utcnow
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
    now = utcnow()
    args = {
        "event": str(name),
        "inbox_id": inbox_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "contact_id": contact_id,
        "data": data or {},
    }
    session.add(
        Job(
            queue=WEBHOOKS_QUEUE, kind=FANOUT_JOB, args=args, state=AVAILABLE, priority=5, attempt=0,
            max_attempts=_FANOUT_ATTEMPTS, scheduled_at=now, errors=[], meta={}, account_id=account_id,
            # One account's events are fanned out in the order they were recorded, so each target's
            # deliveries are created (and, by their own key, sent) in that order.
            concurrency_key=f"webhooks:fanout:{account_id}", inserted_at=now,
        )
    )
