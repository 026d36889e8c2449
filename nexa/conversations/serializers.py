"""Chatwoot's conversation and message JSON, built for whole pages with a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.models import AccountUser, User
from nexa.auth.repository import MembershipRepository
from nexa.auth.serializers import availability_status
from nexa.contacts.models import Contact
from nexa.contacts.repository import ContactRepository
from nexa.contacts.serializers import contact_out
from nexa.conversations.models import MESSAGE_TYPE_NUMBER, Attachment, Conversation, Message, SenderType
from nexa.conversations.repository import ConversationLabelRepository, MessageRepository
from nexa.conversations.schemas import AttachmentOut, ConversationMeta, ConversationOut, MessageOut, SenderOut
from nexa.inboxes.repository import AgentBotRepository, InboxRepository
from nexa.inboxes.serializers import CHATWOOT_CHANNEL_CLASS
from nexa.kit.clock import to_unix
from nexa.kit.storage import signed_media_url
from nexa.runtime import current_runtime
from nexa.teams.agents import agent_out, memberships_of
from nexa.teams.repository import TeamRepository
from nexa.teams.serializers import team_out

SenderKey = tuple[SenderType, int]


async def load_senders(session: AsyncSession, account_id: int, messages: Sequence[Message]) -> dict[SenderKey, SenderOut]:
    """Push data of every sender of `messages`: one query per sender kind present."""
    wanted: dict[SenderType, set[int]] = {}
    for message in messages:
        if message.sender_type is not None and message.sender_id is not None:
            wanted.setdefault(message.sender_type, set()).add(message.sender_id)
    senders: dict[SenderKey, SenderOut] = {}
    if wanted.get(SenderType.contact):
        for contact in (await ContactRepository(session, account_id).by_ids(wanted[SenderType.contact])).values():
            senders[(SenderType.contact, contact.id)] = contact_sender(contact)
    if wanted.get(SenderType.user):
        for membership in await memberships_of(MembershipRepository(session, account_id), wanted[SenderType.user]):
            senders[(SenderType.user, membership.user_id)] = user_sender(membership.user, membership)
    if wanted.get(SenderType.agent_bot):
        for bot in (await AgentBotRepository(session, account_id).by_ids(wanted[SenderType.agent_bot])).values():
            senders[(SenderType.agent_bot, bot.id)] = SenderOut(
                id=bot.id, name=bot.name, type="agent_bot", avatar_url=bot.avatar_url or "", thumbnail=bot.avatar_url or ""
            )
    return senders


def contact_sender(contact: Contact) -> SenderOut:
    return SenderOut(
        id=contact.id, name=contact.name, type="contact", avatar_url=contact.avatar_url or "",
        thumbnail=contact.avatar_url or "", email=contact.email, phone_number=contact.phone_number,
        identifier=contact.identifier,
    )


def user_sender(user: User, membership: AccountUser | None) -> SenderOut:
    return SenderOut(
        id=user.id, name=user.name, type="user", available_name=user.available_name,
        availability_status=availability_status(membership) if membership else None,
    )


def attachment_out(attachment: Attachment) -> AttachmentOut:
    """A file Nexa holds is linked by an expiring signed URL (works in an <img> tag, for Evolution or n8n,
    without a session); one it does not hold yet by the provider's URL."""
    meta = attachment.meta
    data_url = (
        signed_media_url(current_runtime().settings, attachment.id) if attachment.file_key else attachment.external_url
    )
    return AttachmentOut(
        id=attachment.id,
        message_id=attachment.message_id,
        file_type=attachment.file_type.value,
        account_id=attachment.account_id,
        extension=meta.get("extension"),
        data_url=data_url,
        thumb_url=meta.get("thumb_url") or (data_url if attachment.file_type.value == "image" else None),
        file_size=attachment.file_size,
        content_type=attachment.content_type,
        coordinates_lat=meta.get("latitude"),
        coordinates_long=meta.get("longitude"),
        fallback_title=meta.get("title"),
        meta=meta,
    )


def message_out(message: Message, display_id: int, senders: dict[SenderKey, SenderOut]) -> MessageOut:
    """`message.attachments` must be loaded (MessageRepository loads them)."""
    sender = senders.get((message.sender_type, message.sender_id)) if message.sender_type and message.sender_id else None
    return MessageOut(
        id=message.id,
        content=message.content,
        account_id=message.account_id,
        inbox_id=message.inbox_id,
        conversation_id=display_id,
        message_type=MESSAGE_TYPE_NUMBER[message.message_type],
        content_type=message.content_type.value,
        status=message.status.value,
        content_attributes=message.content_attributes,
        additional_attributes=message.additional_attributes,
        created_at=to_unix(message.created_at) or 0,
        updated_at=to_unix(message.updated_at) or 0,
        private=message.private,
        source_id=message.source_id,
        echo_id=message.echo_id,
        external_error=message.external_error,
        sender_type=message.sender_type.value if message.sender_type else None,
        sender_id=message.sender_id,
        sender=sender,
        attachments=[attachment_out(a) for a in message.attachments],
    )


async def messages_out(session: AsyncSession, conversation: Conversation, messages: Sequence[Message]) -> list[MessageOut]:
    senders = await load_senders(session, conversation.account_id, messages)
    return [message_out(m, conversation.display_id, senders) for m in messages]


async def conversations_out(
    session: AsyncSession, account_id: int, conversations: Sequence[Conversation]
) -> list[ConversationOut]:
    """A page of conversations: contacts, assignees, teams, inboxes, labels, last messages and unread
    counts are each fetched once for the whole page."""
    if not conversations:
        return []
    contacts = await ContactRepository(session, account_id).by_ids(c.contact_id for c in conversations)
    inboxes = await InboxRepository(session, account_id).by_ids(c.inbox_id for c in conversations)
    assignees = {
        m.user_id: m
        for m in await memberships_of(
            MembershipRepository(session, account_id), [c.assignee_id for c in conversations if c.assignee_id]
        )
    }
    teams = await TeamRepository(session, account_id).by_ids(c.team_id for c in conversations if c.team_id)
    labels = await ConversationLabelRepository(session, account_id).titles_by_owner(c.id for c in conversations)
    messages = MessageRepository(session, account_id)
    last_messages = await messages.last_chat_messages(c.id for c in conversations)
    unread = await messages.unread_counts(conversations)
    senders = await load_senders(session, account_id, list(last_messages.values()))
    result = []
    for conversation in conversations:
        last = last_messages.get(conversation.id)
        last_out = message_out(last, conversation.display_id, senders) if last else None
        assignee = assignees.get(conversation.assignee_id) if conversation.assignee_id else None
        team = teams.get(conversation.team_id) if conversation.team_id else None
        result.append(
            _conversation_out(
                conversation,
                meta=ConversationMeta(
                    sender=contact_out(contacts[conversation.contact_id]),
                    channel=CHATWOOT_CHANNEL_CLASS[inboxes[conversation.inbox_id].channel_type],
                    assignee=agent_out(assignee) if assignee else None,
                    assignee_type=_assignee_type(conversation),
                    team=team_out(team, is_member=False) if team else None,
                ),
                labels=labels.get(conversation.id, []),
                last_message=last_out,
                unread_count=unread.get(conversation.id, 0),
            )
        )
    return result


async def conversation_out(session: AsyncSession, conversation: Conversation) -> ConversationOut:
    return (await conversations_out(session, conversation.account_id, [conversation]))[0]


def _assignee_type(conversation: Conversation) -> str | None:
    if conversation.assignee_id is not None:
        return "User"
    return "AgentBot" if conversation.assignee_agent_bot_id is not None else None


def _conversation_out(
    conversation: Conversation, *, meta: ConversationMeta, labels: list[str], last_message: MessageOut | None, unread_count: int
) -> ConversationOut:
    last_activity = to_unix(conversation.last_activity_at) or 0
    return ConversationOut(
        id=conversation.display_id,
        uuid=conversation.uuid,
        account_id=conversation.account_id,
        inbox_id=conversation.inbox_id,
        meta=meta,
        messages=[last_message] if last_message else [],
        last_non_activity_message=last_message,
        labels=labels,
        status=conversation.status.value,
        priority=conversation.priority.value if conversation.priority else None,
        muted=conversation.muted,
        can_reply=True,
        additional_attributes=conversation.additional_attributes,
        custom_attributes=conversation.custom_attributes,
        snoozed_until=to_unix(conversation.snoozed_until),
        waiting_since=to_unix(conversation.waiting_since),
        first_reply_created_at=to_unix(conversation.first_reply_created_at),
        agent_last_seen_at=to_unix(conversation.agent_last_seen_at),
        assignee_last_seen_at=to_unix(conversation.assignee_last_seen_at),
        contact_last_seen_at=to_unix(conversation.contact_last_seen_at),
        last_activity_at=last_activity,
        timestamp=last_activity,
        created_at=to_unix(conversation.created_at) or 0,
        updated_at=conversation.updated_at.timestamp(),
        unread_count=unread_count,
        team_id=conversation.team_id,
        assignee_agent_bot_id=conversation.assignee_agent_bot_id,
    )


