"""Chatwoot's webhook payloads (Message#webhook_data, Conversations::EventDataPresenter#push_data, ...).

Built by the fan-out job right after the change commits, from the rows as they are then; the body is
stored with the event so retries and redeliveries send exactly the same bytes (see docs/webhooks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.models import User
from nexa.auth.repository import UserRepository
from nexa.contacts.models import Contact, ContactInbox
from nexa.contacts.repository import ContactInboxRepository, ContactRepository
from nexa.conversations.models import Conversation, Message, SenderType
from nexa.conversations.schemas import SenderOut
from nexa.conversations.serializers import (
    SenderKey,
    attachment_out,
    conversations_out,
    load_senders,
    message_out,
)
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import AgentBotRepository
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


class Bodies:
    """Builds the bodies of one fan-out batch's events, reading what they share once.

    `preload` reads the REST shape and contact inbox of every conversation of the batch (one
    `conversations_out`, one select) and every message's attachments and senders (a select per kind);
    built one event at a time, each body read them again, a dozen statements per event. A conversation's
    shape is then the same for all the batch's events about it: the rows as they were when the batch read
    them, as one event's fan-out reads them when it runs (docs/webhooks.md).
    """

    def __init__(self, session: AsyncSession, account: Account) -> None:
        self._session = session
        self._account = account
        self._conversations: dict[int, dict[str, Any]] = {}
        self._message_senders: dict[SenderKey, SenderOut] = {}
        self._senders: dict[SenderKey, dict[str, Any] | None] = {}

    async def preload(self, conversations: Sequence[Conversation], messages: Sequence[Message]) -> None:
        """`messages` must have their attachments loaded (selectinload)."""
        await self._read_conversations([c for c in conversations if c.id not in self._conversations])
        self._message_senders.update(await load_senders(self._session, self._account.id, messages))
        self._senders.update(await _senders(self._session, self._account, messages))

    async def _read_conversations(self, conversations: Sequence[Conversation]) -> None:
        if not conversations:
            return
        shapes = await conversations_out(self._session, self._account.id, conversations)
        contact_inboxes = await ContactInboxRepository(self._session, self._account.id).by_ids(
            c.contact_inbox_id for c in conversations if c.contact_inbox_id is not None
        )
        for conversation, shape in zip(conversations, shapes, strict=True):
            data = shape.model_dump(mode="json")
            data["contact_inbox"] = _contact_inbox_row(contact_inboxes.get(conversation.contact_inbox_id or 0))
            self._conversations[conversation.id] = data

    async def conversation(self, conversation: Conversation) -> dict[str, Any]:
        """The conversation as Chatwoot pushes it: REST shape plus the raw contact_inbox row."""
        if conversation.id not in self._conversations:
            await self._read_conversations([conversation])
        return dict(self._conversations[conversation.id])  # callers set their own top-level keys

    async def message(self, message: Message, conversation: Conversation, inbox: Inbox) -> dict[str, Any]:
        """Message#webhook_data: message_type is a string here (an integer in REST and realtime)."""
        conversation_json = await self.conversation(conversation)
        # messages[0] is the message itself, as when Chatwoot builds the payload the moment it is created
        # (Evolution API reads its source_id, sender and attachments there), however late the fan-out runs.
        if "attachments" in inspect(message).unloaded:
            await self._session.refresh(message, ["attachments"])
        key = (message.sender_type, message.sender_id)
        if message.sender_type is not None and message.sender_id is not None and key not in self._message_senders:
            self._message_senders.update(await load_senders(self._session, self._account.id, [message]))
        conversation_json["messages"] = [
            message_out(message, conversation.display_id, self._message_senders).model_dump(mode="json")
        ]
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
            "sender": await self._sender(message),
            "account": {"id": self._account.id, "name": self._account.name},
            "inbox": {"id": inbox.id, "name": inbox.name},
            "conversation": conversation_json,
        }
        if message.attachments:
            data["attachments"] = [attachment_out(a).model_dump(mode="json") for a in message.attachments]
        return data

    async def _sender(self, message: Message) -> dict[str, Any] | None:
        if message.sender_type is None or message.sender_id is None:
            return None
        key = (message.sender_type, message.sender_id)
        if key not in self._senders:
            self._senders.update(await _senders(self._session, self._account, [message]))
        return self._senders.get(key)

    async def contact_inbox(self, contact_inbox: ContactInbox) -> dict[str, Any]:
        """ContactInbox#webhook_data: the visitor, the inbox and account (id and name), the latest
        conversation in this inbox (Chatwoot's `current_conversation`, null before the first) and the
        source_id."""
        session, account = self._session, self._account
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
            "current_conversation": await self.conversation(latest) if latest is not None else None,
            "source_id": contact_inbox.source_id,
        }


def _contact_inbox_row(contact_inbox: ContactInbox | None) -> dict[str, Any] | None:
    if contact_inbox is None:
        return None
    return {
        "id": contact_inbox.id,
        "contact_id": contact_inbox.contact_id,
        "inbox_id": contact_inbox.inbox_id,
        "source_id": contact_inbox.source_id,
        "pubsub_token": contact_inbox.pubsub_token,
        "hmac_verified": False,
        "created_at": contact_inbox.created_at.isoformat(),
        "updated_at": contact_inbox.updated_at.isoformat(),
    }


async def _senders(session: AsyncSession, account: Account, messages: Sequence[Message]) -> dict[SenderKey, dict[str, Any] | None]:
    """The webhook shape of every sender of `messages`, a select per kind (None: the sender was deleted)."""
    ids: dict[SenderType, set[int]] = {}
    for message in messages:
        if message.sender_type is not None and message.sender_id is not None:
            ids.setdefault(message.sender_type, set()).add(message.sender_id)
    found: dict[SenderKey, dict[str, Any] | None] = {
        (kind, sender_id): None for kind, kind_ids in ids.items() for sender_id in kind_ids
    }
    if ids.get(SenderType.contact):
        for contact in (await ContactRepository(session, account.id).by_ids(ids[SenderType.contact])).values():
            found[(SenderType.contact, contact.id)] = contact_data(contact, account)
    if ids.get(SenderType.user):
        for user in (await UserRepository(session).by_ids(ids[SenderType.user])).values():
            found[(SenderType.user, user.id)] = user_data(user)
    if ids.get(SenderType.agent_bot):
        for bot in (await AgentBotRepository(session, account.id).by_ids(ids[SenderType.agent_bot])).values():
            found[(SenderType.agent_bot, bot.id)] = {"id": bot.id, "name": bot.name, "type": "agent_bot"}
    return found


def inbox_data(inbox: Inbox) -> dict[str, Any]:
    """The inbox as the REST API shows it (secrets are never in it)."""
    return inbox_out(inbox, base_url=current_runtime().settings.base_url).model_dump(mode="json")
