"""Follow-ups for leads that stay with the bot: one scheduled job per conversation at a time, replaced on
every bot turn and cancelled when the customer writes; at most `follow_ups.max_count`, inside the 24 h
window, or with the account's template once it has closed."""

from __future__ import annotations

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
from nexa.jobs.enqueue import enqueue
from nexa.jobs.models import CANCELLED, SCHEDULED, Job, state_is
from nexa.jobs.registry import Cancel, JobContext, job
from nexa.kit.clock import utcnow

FOLLOW_UP_JOB = "bot.follow_up"


# One key per follow-up number, so the running follow-up can schedule the next one.
_MAX_KEYS = 11


def _key(conversation_id: int, number: int) -> str:
    return f"bot-follow-up:{conversation_id}:{number}"


async def cancel_follow_up(session: AsyncSession, conversation_id: int) -> None:
    """The customer wrote: the waiting follow-up is no longer wanted (one that is already running sees
    the newer message and cancels itself)."""
    await session.execute(
        update(Job)
        .where(Job.dedupe_key.in_([_key(conversation_id, n) for n in range(_MAX_KEYS)]), state_is(SCHEDULED))
        .values(state=CANCELLED, cancelled_at=utcnow())
    )


async def schedule_follow_up(session: AsyncSession, conversation: Conversation, state: BotConversation, config: BotConfig) -> bool:
    """Schedule the next follow-up after the customer's last message, in place of the one waiting (whose key
    is the same: only a follow-up being sent moves to the next key). False when none is due."""
    plan = config.follow_ups
    if state.follow_ups_sent >= plan.max_count or not plan.delays_minutes or state.last_customer_message_id is None:
        return False
    delay = plan.delays_minutes[min(state.follow_ups_sent, len(plan.delays_minutes) - 1)]
    if delay <= 0:
        # Due at once: nothing waits in its place, and a due job is not replaced but run.
        await cancel_follow_up(session, conversation.id)
    await enqueue(
        session, FOLLOW_UP_JOB, {"conversation_id": conversation.id, "after_message_id": state.last_customer_message_id},
        queue="bot", account_id=conversation.account_id, schedule_in=timedelta(minutes=delay),
        dedupe_key=_key(conversation.id, state.follow_ups_sent), replace_scheduled=delay > 0,
    )
    return True


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
        await schedule_follow_up(session, conversation, state, config)
