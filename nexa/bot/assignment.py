"""Auto-assignment after a handoff: round robin over the inbox's online agents who are under the inbox's
cap of open conversations. Nobody available: the conversation waits (open, unassigned, waiting_since) and
`bot.assign_queue` picks it up when an agent comes online (nexa.auth.service.set_availability and the
presence heartbeat enqueue it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.repository import AssignmentCursorRepository, QueueRepository
from nexa.conversations import service as conversations
from nexa.conversations.models import Conversation, ConversationStatus
from nexa.conversations.repository import ConversationRepository
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import InboxMemberRepository, InboxRepository
from nexa.jobs.enqueue import enqueue
from nexa.jobs.registry import JobContext, job
from nexa.realtime.presence import online_agent_ids
from nexa.runtime import Runtime, current_runtime

ASSIGN_CONVERSATION_JOB = "bot.assign_conversation"
ASSIGN_QUEUE_JOB = "bot.assign_queue"  # enqueued by name where agents come online
_QUEUE_BATCH = 200


async def available_agents(session: AsyncSession, runtime: Runtime, inbox: Inbox) -> list[int]:
    """Online members of the inbox under its cap, by user id (round robin's order)."""
    members = set(await InboxMemberRepository(session, inbox.account_id).user_ids(inbox.id))
    online = sorted(members & await online_agent_ids(runtime, inbox.account_id))
    if not online or inbox.max_assignment_limit is None:
        return online
    load = await QueueRepository(session, inbox.account_id).open_counts(online)
    return [user_id for user_id in online if load.get(user_id, 0) < inbox.max_assignment_limit]


async def auto_assign(session: AsyncSession, runtime: Runtime, conversation: Conversation, inbox: Inbox) -> int | None:
    """Give a waiting conversation to the next available agent after the inbox's last pick; None: it waits."""
    if conversation.status != ConversationStatus.open or conversation.assignee_id is not None:
        return conversation.assignee_id
    if not inbox.enable_auto_assignment:
        return None
    candidates = await available_agents(session, runtime, inbox)
    if not candidates:
        return None
    cursor = await AssignmentCursorRepository(session, inbox.account_id).for_inbox(inbox.id)
    after = cursor.last_user_id or 0
    chosen = next((user_id for user_id in candidates if user_id > after), candidates[0])
    await conversations.assign_agent(session, conversation, chosen, inbox=inbox)
    cursor.last_user_id = chosen
    await session.flush()
    return chosen


async def enqueue_assignment(session: AsyncSession, conversation: Conversation) -> None:
    await enqueue(
        session, ASSIGN_CONVERSATION_JOB, {"conversation_id": conversation.id}, account_id=conversation.account_id,
        concurrency_key=f"conversation:{conversation.id}", dedupe_key=f"assign:{conversation.id}",
    )


@job(ASSIGN_CONVERSATION_JOB, max_attempts=5)
async def assign_conversation(ctx: JobContext, conversation_id: int) -> None:
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        conversation = await ConversationRepository(session, ctx.account_id).get(conversation_id)
        if conversation is None:
            return
        inbox = await InboxRepository(session, ctx.account_id).get_or_404(conversation.inbox_id)
        await auto_assign(session, current_runtime(), conversation, inbox)


@job(ASSIGN_QUEUE_JOB, max_attempts=5)
async def assign_queue(ctx: JobContext, account_id: int) -> None:
    """An agent came online: hand out the account's waiting conversations, oldest first."""
    runtime = current_runtime()
    async with ctx.database.session() as session:
        waiting = await QueueRepository(session, account_id).waiting(_QUEUE_BATCH)
        inboxes = await InboxRepository(session, account_id).by_ids({c.inbox_id for c in waiting})
        for conversation in waiting:
            await auto_assign(session, runtime, conversation, inboxes[conversation.inbox_id])
