"""The hook domain code calls when something an automation rule may react to happens.

`record_trigger` runs inside `_emit`, in the caller's transaction: the evaluation job row is added to the
session (nexa.jobs.enqueue.add_job), so the change and its evaluation commit together. Actions run by a rule happen with a deeper `depth`; past MAX_DEPTH nothing more is
evaluated, so rules that trigger each other cannot loop. No job is added for an account known (cached a
few seconds, see nexa.kit.account_facts) to have no active rule.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.automation.models import AutomationRule
from nexa.automation.repository import AutomationRuleRepository
from nexa.jobs.enqueue import add_job
from nexa.kit.account_facts import AccountFact
from nexa.realtime import EventName

EVALUATE_JOB = "automation.evaluate"
MAX_DEPTH = 3
# How deep in rule-caused changes the current code runs: 0 for users, bots and channels.
current_depth: ContextVar[int] = ContextVar("automation_depth", default=0)

_UPDATES = {EventName.CONVERSATION_UPDATED, EventName.ASSIGNEE_CHANGED, EventName.TEAM_CHANGED}


async def _has_rules(session: AsyncSession, account_id: int) -> bool:
    rules = AutomationRuleRepository(session, account_id)
    return bool(await rules.count(rules.select().where(AutomationRule.active.is_(True))))


HAS_RULES = AccountFact("automation rules", _has_rules)
HAS_RULES.watch(AutomationRule)


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
    if not events or depth >= MAX_DEPTH or HAS_RULES.known(account_id) is False:
        return
    args = {"conversation_id": conversation_id, "message_id": message_id, "events": events, "depth": depth}
    # A conversation's events are evaluated in the order they happened.
    add_job(
        session, EVALUATE_JOB, args, queue="default", max_attempts=5, account_id=account_id,
        concurrency_key=f"automation:{conversation_id}",
    )
