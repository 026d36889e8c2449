"""The one way a conversation leaves the bot: every trigger (a qualified lead, a human request, repeated
"I don't know", negative sentiment, a rule) calls `hand_off`."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.assignment import available_agents, enqueue_assignment, routed_team
from nexa.bot.language import Language
from nexa.bot.models import BotConversation
from nexa.bot.qualification import score_answers
from nexa.bot.repository import QueueRepository, recent_messages
from nexa.bot.schemas import BotConfig
from nexa.bot.texts import text
from nexa.contacts.models import Contact, LeadStatus
from nexa.conversations import activity
from nexa.conversations import service as conversations
from nexa.conversations.messages import Sender, create_message
from nexa.conversations.models import Conversation, ConversationStatus, Message, MessageType, SenderType
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import InboxMemberRepository
from nexa.kit.clock import utcnow
from nexa.realtime import Event, EventName, publish, user_channel
from nexa.runtime import Runtime

BOT = Sender(SenderType.bot, None)
# Minutes one agent needs per waiting customer, for the wait the customer is told.
_MINUTES_PER_CUSTOMER = 3
_TRANSCRIPT_MESSAGES = 50


class HandoffReason(enum.StrEnum):
    qualified = "qualified"
    human_request = "human_request"
    unanswered = "unanswered"
    negative_sentiment = "negative_sentiment"
    rule = "rule"


# The reason as the activity line says it (translated in nexa/conversations/activity.py).
_REASON_TEXTS = {
    HandoffReason.qualified: "qualified lead",
    HandoffReason.human_request: "the customer asked for a person",
    HandoffReason.unanswered: "the bot could not answer",
    HandoffReason.negative_sentiment: "the customer seemed unhappy",
    HandoffReason.rule: "a bot rule",
}


async def hand_off(
    session: AsyncSession,
    runtime: Runtime,
    conversation: Conversation,
    *,
    inbox: Inbox,
    contact: Contact,
    state: BotConversation,
    config: BotConfig,
    reason: HandoffReason,
    detail: str = "",
) -> bool:
    """pending -> open with everything the agent needs, in the caller's transaction; False when the bot
    no longer has the conversation. Assignment runs right after, as a job."""
    if conversation.status != ConversationStatus.pending:
        return False
    language: Language = state.language or config.languages[0]  # type: ignore[assignment]
    await create_message(
        session, conversation, inbox=inbox, message_type=MessageType.outgoing, sender=BOT,
        content=await _wait_notice(session, runtime, conversation, inbox, language),
    )
    score = score_answers(config, state.answers)
    transcript = await recent_messages(session, conversation.account_id, conversation.id, _TRANSCRIPT_MESSAGES)
    await create_message(
        session, conversation, inbox=inbox, message_type=MessageType.outgoing, private=True, sender=BOT,
        content=_handoff_note(reason, detail, score.score, score.reasons, state.answers, transcript),
    )
    # change_status records the conversation_bot_handoff reporting event (once per conversation).
    await conversations.change_status(session, conversation, ConversationStatus.open, actor=conversations.SYSTEM, inbox=inbox)
    now = utcnow()
    conversation.waiting_since = now  # the bot's replies stopped the clock; the queue starts it again
    state.handed_off_at = now
    state.handoff_reason = reason.value
    state.pending_field = None
    contact.lead_status = LeadStatus.in_service
    contact.custom_attributes = {**contact.custom_attributes, "lead_status": LeadStatus.in_service.value}
    await activity.write(
        session, conversation, "The bot handed the conversation to a human: {reason}",
        reason=activity.Msgid(_REASON_TEXTS[reason]),
    )
    await _notify_agents(session, conversation, inbox, reason, score.score)
    await enqueue_assignment(session, conversation)
    await session.flush()
    return True


async def _wait_notice(session: AsyncSession, runtime: Runtime, conversation: Conversation, inbox: Inbox, language: Language) -> str:
    team = await routed_team(session, conversation)
    agents = await available_agents(session, runtime, inbox, team)
    position = await QueueRepository(session, inbox.account_id).position(conversation)
    if agents:
        minutes = max(1, round(position * _MINUTES_PER_CUSTOMER / len(agents)))
        return text("handoff_soon", language, minutes=minutes)
    return text("handoff_queue", language, position=position)


def _handoff_note(
    reason: HandoffReason, detail: str, score: int, reasons: Sequence[str], answers: dict[str, object],
    transcript: Sequence[Message],
) -> str:
    lines = [f"🤖 Bot handoff: {reason.value}" + (f" ({detail})" if detail else ""), f"Lead score: {score}/10"]
    if reasons:
        lines.append("Reasons: " + "; ".join(reasons))
    if answers:
        lines.append("Answers: " + "; ".join(f"{key}: {value if value is not None else '-'}" for key, value in answers.items()))
    lines.append("Transcript:")
    for message in transcript:
        if message.private or message.message_type == MessageType.activity:
            continue
        who = "Customer" if message.message_type == MessageType.incoming else "Bot" if message.sender_type == SenderType.bot else "Agent"
        lines.append(f"{who}: {message.content or '[attachment]'}")
    return "\n".join(lines)


async def _notify_agents(session: AsyncSession, conversation: Conversation, inbox: Inbox, reason: HandoffReason, score: int) -> None:
    """Every member of the inbox hears it on their own channel; only online ones are listening."""
    members = await InboxMemberRepository(session, inbox.account_id).user_ids(inbox.id)
    if not members:
        return
    data = {
        "notification_type": "bot_handoff", "conversation_id": conversation.display_id, "inbox_id": inbox.id,
        "reason": reason.value, "lead_score": score,
    }
    publish(session, Event(EventName.NOTIFICATION_CREATED, data, account_id=conversation.account_id,
                           channels=[user_channel(user_id) for user_id in members]))
