"""The inbound pipeline, the same for every channel: normalized events in, rows out, once and in order.

`receive()` runs in the job that processes stored webhooks (nexa/channels/inbound_queue.py), for a batch
of bodies in one transaction: contact found or created (Brazilian numbers with or without the 9th digit are one person),
conversation found or reopened, message inserted unless the provider already delivered it (unique per
inbox and provider id), receipts applied forward-only. Slow work (media download, the bot) is enqueued
in the same transaction and runs in jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.channels.base import (
    ChannelStatus,
    Customer,
    IncomingMedia,
    InboundEvent,
    InboundMessage,
    MessageChanged,
    StatusUpdate,
)
from nexa.channels.models import EarlyReceipt
from nexa.contacts import service as contacts
from nexa.contacts.models import Contact, ContactInbox
from nexa.contacts.repository import ContactInboxRepository, ContactRepository
from nexa.contacts.schemas import ContactFields
from nexa.conversations import messages
from nexa.conversations import service as conversations
from nexa.conversations.messages import NewAttachment, Sender
from nexa.conversations.models import Conversation, Message, MessageStatus, MessageType, SenderType
from nexa.conversations.repository import MessageRepository
from nexa.inboxes.models import Inbox
from nexa.jobs.enqueue import enqueue
from nexa.kit.errors import ValidationFailed

FETCH_MEDIA_JOB = "channels.fetch_media"


@dataclass
class Received:
    """What one webhook did, for the response log and the tests."""

    created: list[Message] = field(default_factory=list)
    duplicates: int = 0
    receipts_applied: int = 0
    receipts_kept: int = 0
    changes_applied: int = 0


async def receive(session: AsyncSession, inbox: Inbox, events: list[InboundEvent]) -> Received:
    received = Received()
    for event in events:
        if isinstance(event, InboundMessage):
            message = await _store_message(session, inbox, event)
            if message is None:
                received.duplicates += 1
            else:
                received.created.append(message)
        elif isinstance(event, StatusUpdate):
            if await _apply_receipt(session, inbox, event):
                received.receipts_applied += 1
            else:
                received.receipts_kept += 1
        elif isinstance(event, MessageChanged):
            received.changes_applied += await _apply_change(session, inbox, event)
        elif isinstance(event, ChannelStatus):
            _keep_channel_status(inbox, event)
    return received


def _keep_channel_status(inbox: Inbox, event: ChannelStatus) -> None:
    # A new dict, not an in-place update: the JSON column only notices reassignment.
    current = inbox.channel_config.get("channel_status") or {}
    inbox.channel_config = {**inbox.channel_config, "channel_status": {**current, **event.values}}


async def _store_message(session: AsyncSession, inbox: Inbox, event: InboundMessage) -> Message | None:
    repository = MessageRepository(session, inbox.account_id)
    if await repository.get_by_source_id(inbox.id, event.source_id) is not None:
        return None
    contact, contact_inbox = await _find_or_create_customer(session, inbox, event.customer)
    conversation = await conversations.find_or_reopen_conversation(
        session, inbox=inbox, contact=contact, contact_inbox=contact_inbox
    )
    if event.referral:
        conversation.additional_attributes = {**conversation.additional_attributes, "referral": dict(event.referral)}
    attributes = dict(event.content_attributes)
    reply_to = attributes.get("in_reply_to_external_id")
    if reply_to:
        quoted = await repository.get_by_source_id(inbox.id, str(reply_to))
        if quoted is not None:
            attributes["in_reply_to"] = quoted.id
    try:
        # A savepoint: the same provider id racing in from a concurrent retry loses here, not the batch.
        async with session.begin_nested():
            message = await messages.create_message(
                session,
                conversation,
                inbox=inbox,
                message_type=MessageType.outgoing if event.from_business else MessageType.incoming,
                content=event.content,
                content_type=event.content_type,
                content_attributes=attributes,
                sender=Sender() if event.from_business else Sender(SenderType.contact, contact.id),
                source_id=event.source_id,
                status=MessageStatus.sent if event.from_business else None,
                attachments=[_attachment(media) for media in event.attachments],
            )
    except IntegrityError:
        if await repository.get_by_source_id(inbox.id, event.source_id) is None:
            raise
        return None
    if event.attachments:
        await _enqueue_media_fetches(session, inbox, message)
    return message


async def _find_or_create_customer(
    session: AsyncSession, inbox: Inbox, customer: Customer
) -> tuple[Contact, ContactInbox]:
    existing = await ContactInboxRepository(session, inbox.account_id).get_by_source(inbox.id, customer.source_id)
    if existing is not None:
        contact = await session.get(Contact, existing.contact_id)
        assert contact is not None
        return contact, existing
    contact = await _contact_for(session, inbox, customer)
    return contact, await contacts.find_or_create_contact_inbox(session, contact, inbox, customer.source_id)


async def _contact_for(session: AsyncSession, inbox: Inbox, customer: Customer) -> Contact:
    if customer.phone:
        try:
            contact = await contacts.find_or_create_by_phone(
                session, inbox.account_id, customer.phone, name=customer.name
            )
        except ValidationFailed:
            pass  # not a dialable number (a business-scoped id, a group): keep the person all the same
        else:
            if customer.identifier and not contact.identifier:
                contact.identifier = customer.identifier
            return contact
    identifier = customer.identifier
    if identifier and await ContactRepository(session, inbox.account_id).get_by_identifier(identifier):
        identifier = None  # someone else's already; this person is known by their address in the inbox
    return await contacts.create_contact(
        session, inbox.account_id, ContactFields(name=customer.name or customer.source_id, identifier=identifier)
    )


def _attachment(media: IncomingMedia) -> NewAttachment:
    meta = {
        key: value
        for key, value in {
            "provider_media_id": media.provider_media_id,
            "filename": media.filename,
            "sha256": media.sha256,
            **media.meta,
        }.items()
        if value is not None
    }
    return NewAttachment(
        file_type=media.file_type,
        external_url=media.url,
        content_type=media.mime_type,
        file_size=media.size,
        meta=meta,
    )


async def _enqueue_media_fetches(session: AsyncSession, inbox: Inbox, message: Message) -> None:
    for attachment in await MessageRepository(session, inbox.account_id).attachments_of(message.id):
        if attachment.meta.get("provider_media_id") or attachment.external_url:
            await enqueue(
                session, FETCH_MEDIA_JOB, {"attachment_id": attachment.id}, queue="media",
                account_id=inbox.account_id, dedupe_key=f"media:{attachment.id}",
            )


async def _apply_receipt(session: AsyncSession, inbox: Inbox, event: StatusUpdate) -> bool:
    """Apply a receipt to its message, or keep it until the message's provider id is known."""
    error = _error_text(event)
    message = await MessageRepository(session, inbox.account_id).get_by_source_id(inbox.id, event.source_id)
    if message is None:
        await _keep_early_receipt(session, inbox, event, error)
        return False
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    await messages.apply_status(session, message, conversation, event.status, external_error=error)
    return True


async def _keep_early_receipt(session: AsyncSession, inbox: Inbox, event: StatusUpdate, error: str | None) -> None:
    duplicate = await session.scalar(
        select(EarlyReceipt.id).where(
            EarlyReceipt.inbox_id == inbox.id, EarlyReceipt.source_id == event.source_id,
            EarlyReceipt.status == event.status,
        )
    )
    if duplicate is None:
        session.add(
            EarlyReceipt(
                account_id=inbox.account_id, inbox_id=inbox.id, source_id=event.source_id, status=event.status,
                external_error=error, occurred_at=event.at,
            )
        )
        await session.flush()


async def apply_early_receipts(session: AsyncSession, message: Message, conversation: Conversation) -> None:
    """Called once a sent message's provider id is stored: receipts that beat it here are applied now."""
    if message.source_id is None:
        return
    waiting = (
        await session.scalars(
            select(EarlyReceipt)
            .where(EarlyReceipt.inbox_id == message.inbox_id, EarlyReceipt.source_id == message.source_id)
            .order_by(EarlyReceipt.occurred_at, EarlyReceipt.id)
        )
    ).all()
    for receipt in waiting:
        await messages.apply_status(
            session, message, conversation, receipt.status, external_error=receipt.external_error
        )
    if waiting:
        await session.execute(delete(EarlyReceipt).where(EarlyReceipt.id.in_([r.id for r in waiting])))


async def _apply_change(session: AsyncSession, inbox: Inbox, event: MessageChanged) -> int:
    message = await MessageRepository(session, inbox.account_id).get_by_source_id(inbox.id, event.source_id)
    if message is None:
        return 0
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    if event.deleted:
        await messages.delete_message(session, message, conversation)
    else:
        await messages.edit_message(session, message, conversation, event.content)
    return 1


def _error_text(event: StatusUpdate) -> str | None:
    if event.status != MessageStatus.failed:
        return None
    parts = [part for part in (event.error_code and f"({event.error_code})", event.error_title, event.error_details) if part]
    return " ".join(parts) or "The channel did not deliver this message"

