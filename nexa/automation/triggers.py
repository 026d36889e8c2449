"""The hook domain code calls when something an automation rule may react to happens.

`record_trigger` runs inside `_emit` (synchronous, in the caller's transaction), so it adds the
evaluation job row to the session directly, like the webhook outbox: the change and its evaluation
commit together. Actions run by a rule happen with a deeper `depth`; past MAX_DEPTH nothing more is
evaluated, so rules that trigger each other cannot loop.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.jobs.models import AVAILABLE, Job
from nexa.kit.clock import utcnow
from nexa.realtime import EventName

EVALUATE_JOB = "automation.evaluate"
MAX_DEPTH = 3
# How deep in rule-caused changes the current code runs: 0 for users, bots and channels.
current_depth: ContextVar[int] = ContextVar("automation_depth", default=0)

_UPDATES = {EventName.CONVERSATION_UPDATED, EventName.ASSIGNEE_CHANGED, EventName.TEAM_CHANGED}


def rule_events(name: EventName, status: str | None) -> list[str]:
    """Chatwoot's automation event names for one domain event."""
    if name == EventName.CONVERSATION_CREATED:
        return ["conversation_created"]
    if name == EventName.MESSAGE_CREATED:
        return ["message_created"]
    if name == EventName.CONVERSATION_STATUS_CHANGED:
        extra = {"open": ["conversation_opened"], "resolved": ["conversation_resolved"]}.get(status or "", [])
        return ["conversation_updated", *extra]
    return ["conversation_updated"] if name in _UPDATES else []


def record_trigger(
    session: AsyncSession,
    name: EventName,
    account_id: int,
    conversation_id: int,
    *,
    status: str | None = None,
    message_id: int | None = None,
) -> None:
    events = rule_events(name, status)
    depth = current_depth.get()
    if not events or depth >= MAX_DEPTH:
        return
    now = utcnow()
    args = {"conversation_id": conversation_id, "message_id": message_id, "events": events, "depth": depth}
    session.add(
        Job(
            queue="default", kind=EVALUATE_JOB, args=args, state=AVAILABLE, priority=5, attempt=0, max_attempts=5,
            scheduled_at=now, errors=[], meta={}, account_id=account_id, inserted_at=now,
            # A conversation's events are evaluated in the order they happened.
            concurrency_key=f"automation:{conversation_id}",
        )
    )
