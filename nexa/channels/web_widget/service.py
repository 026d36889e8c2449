"""Visitors of a web chat inbox: who they are, their conversations, their messages.

A visitor is a contact whose address in the inbox (`source_id`) is a random secret kept by their
browser; holding it is what makes them that visitor, as in Chatwoot's public API. They only ever see
their own conversations, and only the customer-visible messages in them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nexa.channels.web_widget.schemas import VisitorIn, WidgetEventInfo
from nexa.contacts import service as contacts
from nexa.contacts.models import Contact, ContactInbox
from nexa.contacts.repository import ContactInboxRepository
from nexa.contacts.schemas import ContactFields
from nexa.conversations import messages
from nexa.conversations import service as conversations
from nexa.conversations.messages import Sender
from nexa.conversations.models import Conversation, Message, MessageType, SenderType
from nexa.conversations.repository import ConversationRepository, MessageRepository
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import PublicInboxRepository
from nexa.kit.clock import utcnow
from nexa.kit.errors import NotFound
from nexa.realtime import Event, EventName, conversation_channel, inbox_channel, publish_now
from nexa.webhooks.outbox import record_event

# Chatwoot's public API serves API inboxes too; any other channel has its own customers' side.
PUBLIC_CHANNELS = (ChannelType.web_widget, ChannelType.api)
_HIDDEN_FROM_VISITORS = (MessageType.activity,)


async def public_inbox(session: AsyncSession, identifier: str) -> Inbox:
    inbox = await PublicInboxRepository(session).get_by_public_id(identifier)
    if inbox is None or inbox.channel_type not in PUBLIC_CHANNELS:
        raise NotFound()
    return inbox


async def create_visitor(session: AsyncSession, inbox: Inbox, params: VisitorIn) -> tuple[Contact, ContactInbox]:
    fields = ContactFields(
        name=params.name or None,
        email=params.email or None,
        phone_number=params.phone_number or None,
        identifier=params.identifier or None,
        custom_attributes=params.custom_attributes,
    )
    contact = await contacts.create_contact(session, inbox.account_id, fields)
    if not contact.name:
        contact.name = f"Visitor {contact.id}"
    contact_inbox = await contacts.find_or_create_contact_inbox(session, contact, inbox, uuid.uuid4().hex)
    return contact, contact_inbox


async def find_visitor(session: AsyncSession, inbox: Inbox, source_id: str) -> tuple[Contact, ContactInbox]:
    contact_inbox = await ContactInboxRepository(session, inbox.account_id).get_by_source(inbox.id, source_id)
    contact = await session.get(Contact, contact_inbox.contact_id) if contact_inbox else None
    if contact_inbox is None or contact is None:
        raise NotFound()
    return contact, contact_inbox


async def update_visitor(session: AsyncSession, contact: Contact, params: VisitorIn) -> Contact:
    changes = ContactFields.model_validate(params.model_dump(exclude_unset=True, exclude_none=True))
    return await contacts.update_contact(session, contact, changes)


async def visitor_conversations(session: AsyncSession, contact_inbox: ContactInbox) -> Sequence[Conversation]:
    repository = ConversationRepository(session, contact_inbox.account_id)
    statement = repository.select().where(Conversation.contact_inbox_id == contact_inbox.id).order_by(Conversation.id)
    return await repository.list(statement)


async def visitor_conversation(session: AsyncSession, contact_inbox: ContactInbox, display_id: int) -> Conversation:
    conversation = await ConversationRepository(session, contact_inbox.account_id).get_by_display_id(display_id)
    if conversation is None or conversation.contact_inbox_id != contact_inbox.id:
        raise NotFound()
    return conversation


async def start_conversation(
    session: AsyncSession, inbox: Inbox, contact: Contact, contact_inbox: ContactInbox
) -> Conversation:
    return await conversations.create_conversation(
        session, inbox=inbox, contact=contact, contact_inbox=contact_inbox
    )


async def visible_messages(session: AsyncSession, conversation: Conversation) -> Sequence[Message]:
    repository = MessageRepository(session, conversation.account_id)
    statement = (
        repository.select()
        .where(
            Message.conversation_id == conversation.id,
            Message.private.is_(False),
            Message.message_type.not_in(_HIDDEN_FROM_VISITORS),
        )
        .order_by(Message.id)
        .options(selectinload(Message.attachments))
    )
    return await repository.list(statement)


async def post_message(
    session: AsyncSession,
    inbox: Inbox,
    contact: Contact,
    conversation: Conversation,
    *,
    content: str,
    echo_id: str | None,
) -> Message:
    return await messages.create_message(
        session,
        conversation,
        inbox=inbox,
        message_type=MessageType.incoming,
        content=content,
        sender=Sender(SenderType.contact, contact.id),
        echo_id=echo_id,
    )


def mark_seen(conversation: Conversation) -> None:
    conversation.contact_last_seen_at = utcnow()


async def announce_typing(conversation: Conversation, contact: Contact, typing: bool) -> None:
    """Agents watching the conversation see the visitor typing; nothing is stored."""
    name = EventName.CONVERSATION_TYPING_ON if typing else EventName.CONVERSATION_TYPING_OFF
    data = {
        "conversation": {"id": conversation.display_id, "inbox_id": conversation.inbox_id},
        "user": {"id": contact.id, "name": contact.name, "type": "contact"},
        "is_private": False,
    }
    channels = [inbox_channel(conversation.inbox_id), conversation_channel(conversation.id)]
    await publish_now(Event(name, data, account_id=conversation.account_id, channels=channels))


def widget_triggered(
    session: AsyncSession, contact_inbox: ContactInbox, info: WidgetEventInfo, *, user_agent: str, accept_language: str
) -> None:
    """Record the visitor opening the widget for the webhooks, with Chatwoot's event_info keys."""
    event_info = info.model_dump(exclude_none=True)
    event_info["browser_language"] = accept_language.split(",")[0].split(";")[0].strip() or None
    event_info["browser"] = browser_details(user_agent)
    # No realtime event: only webhooks hear of it (nexa.webhooks.jobs builds ContactInbox#webhook_data).
    record_event(
        session, "webwidget_triggered", contact_inbox.account_id, inbox_id=contact_inbox.inbox_id,
        contact_id=contact_inbox.contact_id, data={"contact_inbox_id": contact_inbox.id, "event_info": event_info},
    )


# (name, pattern of its version) in order: Edge and Opera also say Chrome, Chrome also says Safari.
_BROWSERS = (
    ("Microsoft Edge", r"Edg(?:e|A|iOS)?/([\d.]+)"),
    ("Opera", r"OPR/([\d.]+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/([\d.]+)"),
    ("Chrome", r"(?:Chrome|CriOS)/([\d.]+)"),
    ("Safari", r"Version/([\d.]+).*Safari/"),
)
_PLATFORMS = (
    ("Android", r"Android ([\d.]+)"),
    ("iOS", r"(?:iPhone|iPad|iPod).*? OS ([\d_]+)"),
    ("Windows", r"Windows NT ([\d.]+)"),
    ("macOS", r"Mac OS X ([\d_.]+)"),
    ("Linux", r"Linux()"),
)


def browser_details(user_agent: str) -> dict[str, str]:
    """The `browser` object of Chatwoot's event_info (it uses the browser gem), from the User-Agent."""
    user_agent = user_agent[:512]  # real ones are shorter; the header is the visitor's to make up

    def first(candidates: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        for name, pattern in candidates:
            found = re.search(pattern, user_agent)
            if found:
                return name, found.group(1).replace("_", ".")
        return "Unknown", ""

    browser_name, browser_version = first(_BROWSERS)
    platform_name, platform_version = first(_PLATFORMS)
    device = "Mobile" if re.search(r"Mobi|iPhone|Android", user_agent) else "Tablet" if "iPad" in user_agent else "Unknown"
    return {
        "browser_name": browser_name, "browser_version": browser_version, "device_name": device,
        "platform_name": platform_name, "platform_version": platform_version,
    }
