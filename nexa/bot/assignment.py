"""Auto-assignment after a handoff: round robin over the online agents who may take the conversation and
are under the inbox's cap of open conversations. Nobody available: the conversation waits (open,
unassigned, waiting_since) and `bot.assign_queue` picks it up when an agent comes online
(nexa.auth.service.set_availability and the presence heartbeat enqueue it).

Who may take it (Chatwoot's rule): a conversation with a team (set by the API's assignments, an
automation's assign_team, or at creation) goes only to members of that team who are also members of the
inbox, and only when the team allows auto-assignment; the round robin then turns per team. Any other
conversation goes to the inbox's members when the inbox has auto-assignment on, round robin per inbox."""

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
from nexa.teams.models import Team
from nexa.teams.repository import TeamMemberRepository, TeamRepository

ASSIGN_CONVERSATION_JOB = "bot.assign_conversation"
ASSIGN_QUEUE_JOB = "bot.assign_queue"  # enqueued by name where agents come online
_QUEUE_BATCH = 200


async def routed_team(session: AsyncSession, conversation: Conversation) -> Team | None:
    """The team the conversation is routed to, if any."""
    if conversation.team_id is None:
        return None
    return await TeamRepository(session, conversation.account_id).get(conversation.team_id)


async def available_agents(session: AsyncSession, runtime: Runtime, inbox: Inbox, team: Team | None = None) -> list[int]:
    """Online members of the inbox (and of the team, when given) under the inbox's cap, by user id
    (round robin's order); empty when auto-assignment is off for the team, or for the inbox without one."""
    if not (team.allow_auto_assign if team is not None else inbox.enable_auto_assignment):
        return []
    members = set(await InboxMemberRepository(session, inbox.account_id).user_ids(inbox.id))
    if team is not None:
        members &= set(await TeamMemberRepository(session, inbox.account_id).user_ids(team.id))
    online = sorted(members & await online_agent_ids(runtime, inbox.account_id))
    if not online or inbox.max_assignment_limit is None:
        return online
    load = await QueueRepository(session, inbox.account_id).open_counts(online)
    return [user_id for user_id in online if load.get(user_id, 0) < inbox.max_assignment_limit]


async def auto_assign(session: AsyncSession, runtime: Runtime, conversation: Conversation, inbox: Inbox) -> int | None:
    """Give a waiting conversation to the next available agent after the last pick of its team (or inbox);
    None: it waits."""
    if conversation.status != ConversationStatus.open or conversation.assignee_id is not None:
        return conversation.assignee_id
    team = await routed_team(session, conversation)
    candidates = await available_agents(session, runtime, inbox, team)
    if not candidates:
        return None
    cursors = AssignmentCursorRepository(session, inbox.account_id)
    cursor = await (cursors.for_team(team.id) if team is not None else cursors.for_inbox(inbox.id))
    after = cursor.last_user_id or 0
    chosen = next((user_id for user_id in candidates if user_id > after), candidates[0])
    await conversations.assign_agent(session, conversation, chosen, inbox=inbox, actor=conversations.SYSTEM)
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
