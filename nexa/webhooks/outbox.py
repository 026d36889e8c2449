"""The transactional outbox: a domain change and the job that fans it out to webhooks commit together.

Each domain's `_emit` (conversations, messages, contacts) calls `record_event` next to its realtime
publish. The fan-out job row is added to the caller's session (nexa.jobs.enqueue.add_job) and commits
with the domain's own writes, so a crash right after the commit loses nothing.

No job is added for an account known (cached a few seconds, see nexa.kit.account_facts) to have nothing
that consumes events: no account webhook, no API inbox (its webhook_url), no inbox with an agent bot.
A busy inbound pipeline for such an account then writes no fan-out rows at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.jobs.enqueue import add_job
from nexa.kit.account_facts import AccountFact
from nexa.realtime import EventName
from nexa.webhooks.models import WebhookEndpoint
from nexa.webhooks.repository import WebhookEndpointRepository

FANOUT_JOB = "webhooks.fanout"
WEBHOOKS_QUEUE = "webhooks"
_FANOUT_ATTEMPTS = 20


async def _has_targets(session: AsyncSession, account_id: int) -> bool:
    if await WebhookEndpointRepository(session, account_id).count():
        return True
    inboxes = InboxRepository(session, account_id)
    # Conservative: any API inbox may have a webhook_url, and an agent bot may have an outgoing URL.
    return bool(await inboxes.count(
        inboxes.select().where((Inbox.channel_type == ChannelType.api) | Inbox.agent_bot_id.is_not(None))
    ))


HAS_TARGETS = AccountFact("webhook targets", _has_targets)
HAS_TARGETS.watch(WebhookEndpoint)
# Not on every inbox update: a template sync (every 15 minutes) or a settings change would leave the fact
# unknown for its ttl, and every event meanwhile would write a fan-out job.
HAS_TARGETS.watch(Inbox, columns=("channel_type", "agent_bot_id"))


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
    if HAS_TARGETS.known(account_id) is False:
        return
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
