"""Follow-ups for leads that stay with the bot: one scheduled job per conversation at a time, replaced on
every bot turn and cancelled when the customer writes; at most `follow_ups.max_count`, inside the 24 h
window, or with the account's template once it has closed."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.language import Language
from nexa.bot.models import BotConversation
from nexa.bot.qualification import load_config
from nexa.bot.repository import BotConversationRepository
from nexa.bot.schemas import BotConfig
from nexa.bot.texts import text
from nexa.channels.outbound import service_window_closes_at
from nexa.contacts.repository import ContactRepository
from nexa.conversations.messages import Sender, create_message
from nexa.conversations.models import Conversation, ConversationStatus, MessageType, SenderType
from nexa.conversations.repository import ConversationRepository
from nexa.inboxes.repository import InboxRepository
from nexa.jobs.enqueue import NewJob, insert_jobs
from nexa.jobs.models import CANCELLED, SCHEDULED, Job, state_is
from nexa.jobs.registry import Cancel, JobContext, job
from nexa.kit.clock import utcnow

FOLLOW_UP_JOB = "bot.follow_up"


# One key per follow-up number, so the running follow-up can schedule the next one.
_MAX_KEYS = 11


def _key(conversation_id: int, number: int) -> str:
    return f"bot-follow-up:{conversation_id}:{number}"


@dataclass(frozen=True)
class Lead:
    """A conversation whose customer just wrote, or was just followed up."""

    conversation: Conversation
    state: BotConversation
    config: BotConfig
    stays_with_bot: bool = True


async def renew_follow_ups(session: AsyncSession, leads: Sequence[Lead]) -> None:
    """Give each lead that stays with the bot its next follow-up after the customer's last message, in place
    of the one waiting (whose key is the same: only a follow-up being sent moves to the next key); cancel the
    waiting one of the others and of those none is due for. A bot chunk's turns renew theirs together: one
    statement for the cancellations and one per delay for the follow-ups (usually one)."""
    delays = {lead.conversation.id: _next_delay(lead) for lead in leads}
    # A follow-up due at once is not replaced (a due job is run, not rescheduled): nothing waits in its place.
    cancelled = [conversation_id for conversation_id, delay in delays.items() if delay is None or delay <= 0]
    if cancelled:
        await session.execute(
            update(Job)
            .where(Job.dedupe_key.in_([_key(c, n) for c in cancelled for n in range(_MAX_KEYS)]), state_is(SCHEDULED))
            .values(state=CANCELLED, cancelled_at=utcnow())
        )
    by_delay: dict[int, list[NewJob]] = collections.defaultdict(list)
    for lead in leads:
        delay = delays[lead.conversation.id]
        if delay is not None:
            by_delay[delay].append(NewJob(
                {"conversation_id": lead.conversation.id, "after_message_id": lead.state.last_customer_message_id},
                account_id=lead.conversation.account_id, dedupe_key=_key(lead.conversation.id, lead.state.follow_ups_sent),
            ))
    for delay, jobs in by_delay.items():
        await insert_jobs(
            session, FOLLOW_UP_JOB, jobs, schedule_in=timedelta(minutes=max(delay, 0)), replace_scheduled=delay > 0
        )


def _next_delay(lead: Lead) -> int | None:
    """Minutes from now to the lead's next follow-up; None when none is due."""
    plan, state = lead.config.follow_ups, lead.state
    if (not lead.stays_with_bot or state.follow_ups_sent >= plan.max_count or not plan.delays_minutes
            or state.last_customer_message_id is None):
        return None
    return plan.delays_minutes[min(state.follow_ups_sent, len(plan.delays_minutes) - 1)]


@job(FOLLOW_UP_JOB, queue="bot", max_attempts=5)
async def follow_up(ctx: JobContext, conversation_id: int, after_message_id: int) -> None:
    assert ctx.account_id is not None
    account_id = ctx.account_id
    async with ctx.database.session() as session:
        conversation = await ConversationRepository(session, account_id).get(conversation_id)
        if conversation is None or conversation.status != ConversationStatus.pending:
            raise Cancel("the bot no longer has the conversation")
        state = await BotConversationRepository(session, account_id).for_conversation(conversation.id)
        if state.last_customer_message_id != after_message_id:
            raise Cancel("the customer wrote since")
        contact = await ContactRepository(session, account_id).get_or_404(conversation.contact_id)
        config = await load_config(session, account_id)
        if contact.opted_out_at is not None or state.follow_ups_sent >= config.follow_ups.max_count:
            return
        inbox = await InboxRepository(session, account_id).get_or_404(conversation.inbox_id)
        closes = await service_window_closes_at(session, conversation, inbox)
        language: Language = state.language or config.languages[0]  # type: ignore[assignment]
        bot = Sender(SenderType.bot, None)
        if closes is None or closes > utcnow():
            await create_message(session, conversation, inbox=inbox, message_type=MessageType.outgoing, sender=bot,
                                 content=text("follow_up", language))
        elif config.follow_ups.template_params:
            template = config.follow_ups.template_params
            await create_message(session, conversation, inbox=inbox, message_type=MessageType.template, sender=bot,
                                 content=text("follow_up", language), additional_attributes={"template_params": template})
        else:
            return  # the window closed and there is no template: the lead is left alone
        state.follow_ups_sent += 1
        await renew_follow_ups(session, [Lead(conversation, state, config)])
