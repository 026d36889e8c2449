"""Chatwoot's conversation and message JSON, built for whole pages with a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.models import AccountUser, User
from nexa.auth.repository import MembershipRepository
from nexa.auth.serializers import availability_status
from nexa.channels.registry import adapter_for
from nexa.contacts.models import Contact
from nexa.contacts.repository import ContactRepository
from nexa.contacts.serializers import contact_out
from nexa.conversations.models import MESSAGE_TYPE_NUMBER, Attachment, Conversation, Message, SenderType
from nexa.conversations.repository import ConversationRepository, ListedDetails
from nexa.conversations.schemas import AttachmentOut, ConversationMeta, ConversationOut, MessageOut, SenderOut
from nexa.inboxes.models import ChannelType
from nexa.inboxes.repository import AgentBotRepository
from nexa.inboxes.serializers import CHATWOOT_CHANNEL_CLASS
from nexa.kit.clock import to_unix, utcnow
from nexa.kit.storage import signed_media_url
from nexa.runtime import current_runtime
from nexa.teams.agents import agent_out, memberships_of
from nexa.teams.serializers import team_out

SenderKey = tuple[SenderType, int]


async def load_senders(session: AsyncSession, account_id: int, messages: Sequence[Message]) -> dict[SenderKey, SenderOut]:
    """Push data of every sender of `messages`: one query per sender kind present."""
    return await load_senders_by_key(session, account_id, [
        (message.sender_type, message.sender_id)
        for message in messages
        if message.sender_type is not None and message.sender_id is not None
    ])


async def load_senders_by_key(
    session: AsyncSession, account_id: int, keys: Iterable[SenderKey]
) -> dict[SenderKey, SenderOut]:
    """Push data of contacts, users and bots by (kind, id): one query per kind present; unknown ids are left out."""
    wanted: dict[SenderType, set[int]] = {}
    for sender_type, sender_id in keys:
        wanted.setdefault(sender_type, set()).add(sender_id)
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
    """A page of conversations in a fixed number of queries whatever its size: the page's details
    (ConversationRepository.details) and, rarely, senders of last messages that are neither the
    conversation's contact nor its assignee."""
    if not conversations:
        return []
    windows = reply_windows()
    details = await ConversationRepository(session, account_id).details(conversations, windows.keys())
    senders = await _last_message_senders(session, account_id, details.values())
    now = utcnow()
    result = []
    for conversation in conversations:
        found = details[conversation.id]
        last = found.last_message
        window = windows.get(found.channel_type)
        closes_at = None if window is None else (found.last_incoming_at + window if found.last_incoming_at else _NEVER)
        result.append(
            _conversation_out(
                conversation,
                meta=ConversationMeta(
                    sender=contact_out(found.contact),
                    channel=CHATWOOT_CHANNEL_CLASS[found.channel_type],
                    assignee=agent_out(found.assignee) if found.assignee else None,
                    assignee_type=_assignee_type(conversation),
                    team=team_out(found.team, is_member=False) if found.team else None,
                ),
                labels=found.labels,
                last_message=message_out(last, conversation.display_id, senders) if last else None,
                unread_count=found.unread_count,
                can_reply=closes_at is None or closes_at > now,
                reply_window_closes_at=to_unix(closes_at),
                queue_position=found.queue_position,
            )
        )
    return result


# A customer who never wrote has a window that closed long ago (as nexa.channels.outbound sees it).
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def reply_windows() -> dict[ChannelType, timedelta]:
    """Channels that allow free-form replies only for a while after the customer's last message (WhatsApp
    Cloud: 24 hours), with that while."""
    windows = {}
    for channel_type in ChannelType:
        adapter = adapter_for(channel_type)
        if adapter is not None and adapter.capabilities.service_window is not None:
            windows[channel_type] = adapter.capabilities.service_window
    return windows


async def _last_message_senders(
    session: AsyncSession, account_id: int, details: Iterable[ListedDetails]
) -> dict[SenderKey, SenderOut]:
    """Senders of the last messages: the contact and the assignee are already loaded; others are fetched."""
    senders: dict[SenderKey, SenderOut] = {}
    others = []
    for found in details:
        message = found.last_message
        if message is None or message.sender_type is None or message.sender_id is None:
            continue
        if message.sender_type == SenderType.contact and message.sender_id == found.contact.id:
            senders[(SenderType.contact, message.sender_id)] = contact_sender(found.contact)
        elif message.sender_type == SenderType.user and found.assignee and message.sender_id == found.assignee.user_id:
            senders[(SenderType.user, message.sender_id)] = user_sender(found.assignee.user, found.assignee)
        else:
            others.append(message)
    return {**senders, **await load_senders(session, account_id, others)}


async def conversation_out(session: AsyncSession, conversation: Conversation) -> ConversationOut:
    return (await conversations_out(session, conversation.account_id, [conversation]))[0]


def _assignee_type(conversation: Conversation) -> str | None:
    if conversation.assignee_id is not None:
        return "User"
    return "AgentBot" if conversation.assignee_agent_bot_id is not None else None


def _conversation_out(
    conversation: Conversation, *, meta: ConversationMeta, labels: list[str], last_message: MessageOut | None,
    unread_count: int, can_reply: bool, reply_window_closes_at: int | None, queue_position: int | None,
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
        can_reply=can_reply,
        reply_window_closes_at=reply_window_closes_at,
        queue_position=queue_position,
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


