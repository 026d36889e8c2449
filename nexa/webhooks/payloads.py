"""Chatwoot's webhook payloads (Message#webhook_data, Conversations::EventDataPresenter#push_data, ...).

Built by the fan-out job right after the change commits, from the rows as they are then; the body is
stored with the event so retries and redeliveries send exactly the same bytes (see docs/webhooks.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.agent_bots.models import AgentBot
from nexa.auth.models import User
from nexa.contacts.models import Contact, ContactInbox
from nexa.conversations.models import Conversation, Message, SenderType
from nexa.conversations.serializers import attachment_out, conversation_out, messages_out
from nexa.inboxes.models import Inbox
from nexa.inboxes.serializers import inbox_out
from nexa.runtime import current_runtime
from nexa.tenancy.models import Account


def contact_data(contact: Contact, account: Account) -> dict[str, Any]:
    """Contact#webhook_data."""
    return {
        "account": {"id": account.id, "name": account.name},
        "additional_attributes": contact.additional_attributes,
        "avatar": contact.avatar_url or "",
        "custom_attributes": contact.custom_attributes,
        "email": contact.email,
        "id": contact.id,
        "identifier": contact.identifier,
        "name": contact.name,
        "phone_number": contact.phone_number,
        "thumbnail": contact.avatar_url or "",
        "blocked": contact.blocked,
        "type": "contact",
    }


def user_data(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email, "type": "user"}


async def conversation_data(session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
    """The conversation as Chatwoot pushes it: REST shape plus the raw contact_inbox row."""
    data = (await conversation_out(session, conversation)).model_dump(mode="json")
    contact_inbox = (
        await session.get(ContactInbox, conversation.contact_inbox_id) if conversation.contact_inbox_id else None
    )
    data["contact_inbox"] = (
        {
            "id": contact_inbox.id,
            "contact_id": contact_inbox.contact_id,
            "inbox_id": contact_inbox.inbox_id,
            "source_id": contact_inbox.source_id,
            "pubsub_token": contact_inbox.pubsub_token,
            "hmac_verified": False,
            "created_at": contact_inbox.created_at.isoformat(),
            "updated_at": contact_inbox.updated_at.isoformat(),
        }
        if contact_inbox is not None
        else None
    )
    return data


async def _sender(session: AsyncSession, message: Message, account: Account) -> dict[str, Any] | None:
    if message.sender_id is None:
        return None
    if message.sender_type == SenderType.contact:
        contact = await session.get(Contact, message.sender_id)
        return contact_data(contact, account) if contact else None
    if message.sender_type == SenderType.user:
        user = await session.get(User, message.sender_id)
        return user_data(user) if user else None
    if message.sender_type == SenderType.agent_bot:
        bot = await session.get(AgentBot, message.sender_id)
        return {"id": bot.id, "name": bot.name, "type": "agent_bot"} if bot else None
    return None


async def message_data(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox, account: Account
) -> dict[str, Any]:
    """Message#webhook_data: message_type is a string here (an integer in REST and realtime)."""
    conversation_json = await conversation_data(session, conversation)
    # messages[0] is the message itself, as when Chatwoot builds the payload the moment it is created
    # (Evolution API reads its source_id, sender and attachments there), however late the fan-out runs.
    await session.refresh(message, ["attachments"])
    attachments = message.attachments
    conversation_json["messages"] = [m.model_dump(mode="json") for m in await messages_out(session, conversation, [message])]
    data: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "content_type": message.content_type.value,
        "content_attributes": message.content_attributes,
        "additional_attributes": message.additional_attributes,
        "message_type": message.message_type.value,
        "private": message.private,
        "source_id": message.source_id,
        "created_at": message.created_at.isoformat(),
        "sender": await _sender(session, message, account),
        "account": {"id": account.id, "name": account.name},
        "inbox": {"id": inbox.id, "name": inbox.name},
        "conversation": conversation_json,
    }
    if attachments:
        data["attachments"] = [attachment_out(a).model_dump(mode="json") for a in attachments]
    return data


async def contact_inbox_data(session: AsyncSession, contact_inbox: ContactInbox, account: Account) -> dict[str, Any]:
    """ContactInbox#webhook_data: the visitor, the inbox and account (id and name), the latest conversation
    in this inbox (Chatwoot's `current_conversation`, null before the first) and the source_id."""
    contact = await session.get(Contact, contact_inbox.contact_id)
    inbox = await session.get(Inbox, contact_inbox.inbox_id)
    assert contact is not None and inbox is not None  # the rows cascade with the contact inbox
    latest = await session.scalar(
        select(Conversation)
        .where(Conversation.account_id == account.id, Conversation.contact_inbox_id == contact_inbox.id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return {
        "id": contact_inbox.id,
        "contact": contact_data(contact, account),
        "inbox": {"id": inbox.id, "name": inbox.name},
        "account": {"id": account.id, "name": account.name},
        "current_conversation": await conversation_data(session, latest) if latest is not None else None,
        "source_id": contact_inbox.source_id,
    }


def inbox_data(inbox: Inbox) -> dict[str, Any]:
    """The inbox as the REST API shows it (secrets are never in it)."""
    return inbox_out(inbox, base_url=current_runtime().settings.base_url).model_dump(mode="json")
