from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.channels.web_widget.schemas import (
    PublicAttachment,
    PublicConversation,
    PublicMessage,
    PublicSender,
    VisitorOut,
    WidgetInbox,
)
from nexa.contacts.models import Contact, ContactInbox
from nexa.conversations.models import MESSAGE_TYPE_NUMBER, Conversation, Message
from nexa.conversations.serializers import attachment_out, load_senders
from nexa.inboxes.models import Inbox
from nexa.inboxes.working_hours import is_open
from nexa.kit.clock import utcnow
from nexa.tenancy.models import Account

DEFAULT_WIDGET_COLOR = "#1f93ff"
# What agents may put in content_attributes for the visitor to see (buttons, replies); the rest is internal.
_VISIBLE_ATTRIBUTES = ("items", "in_reply_to", "deleted", "submitted_values", "is_reaction")


def visitor_out(contact: Contact, contact_inbox: ContactInbox) -> VisitorOut:
    return VisitorOut(
        id=contact.id,
        source_id=contact_inbox.source_id,
        pubsub_token=contact_inbox.pubsub_token,
        name=contact.name,
        email=contact.email,
        phone_number=contact.phone_number,
    )


async def public_messages(
    session: AsyncSession, conversation: Conversation, messages: Sequence[Message]
) -> list[PublicMessage]:
    senders = await load_senders(session, conversation.account_id, messages)
    result = []
    for message in messages:
        sender = senders.get((message.sender_type, message.sender_id)) if message.sender_type else None
        result.append(
            PublicMessage(
                id=message.id,
                content=message.content,
                message_type=MESSAGE_TYPE_NUMBER[message.message_type],
                content_type=message.content_type.value,
                content_attributes={
                    k: v for k, v in message.content_attributes.items() if k in _VISIBLE_ATTRIBUTES
                },
                created_at=int(message.created_at.timestamp()),
                conversation_id=conversation.display_id,
                status=message.status.value,
                echo_id=message.echo_id,
                sender=PublicSender(
                    id=sender.id, name=sender.available_name or sender.name, type=sender.type,
                    avatar_url=sender.avatar_url or "",
                ) if sender else None,
                attachments=[
                    PublicAttachment(id=a.id, file_type=a.file_type, data_url=a.data_url, thumb_url=a.thumb_url)
                    for a in (attachment_out(item) for item in message.attachments)
                ],
            )
        )
    return result


async def public_conversation(
    session: AsyncSession,
    conversation: Conversation,
    contact: Contact,
    contact_inbox: ContactInbox,
    messages: Sequence[Message],
) -> PublicConversation:
    return PublicConversation(
        id=conversation.display_id,
        inbox_id=conversation.inbox_id,
        status=conversation.status.value,
        messages=await public_messages(session, conversation, messages),
        contact=visitor_out(contact, contact_inbox),
    )


def widget_inbox(inbox: Inbox, account: Account) -> WidgetInbox:
    config = inbox.channel_config
    branding = account.branding
    return WidgetInbox(
        identifier=inbox.public_id,
        name=inbox.name,
        locale=config.get("locale") or account.locale,
        product_name=branding.get("product_name"),
        logo_url=inbox.avatar_url or branding.get("logo_url"),
        widget_color=config.get("widget_color") or branding.get("primary_color") or DEFAULT_WIDGET_COLOR,
        welcome_title=config.get("welcome_title"),
        welcome_tagline=config.get("welcome_tagline"),
        greeting_enabled=inbox.greeting_enabled,
        greeting_message=inbox.greeting_message if inbox.greeting_enabled else None,
        pre_chat_form_enabled=bool(config.get("pre_chat_form_enabled")),
        pre_chat_form_fields=list(config.get("pre_chat_form_fields") or ["name", "email"]),
        working_hours_enabled=inbox.working_hours_enabled,
        is_open=is_open(inbox, utcnow()),
        out_of_office_message=inbox.out_of_office_message,
    )
