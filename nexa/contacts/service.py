"""Contacts: validation with Chatwoot's 422 bodies, attribute merging, phone-based find-or-create."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.contacts.models import Contact, ContactInbox, ContactNote
from nexa.contacts.repository import ContactInboxRepository, ContactLabelRepository, ContactNoteRepository, ContactRepository
from nexa.contacts.schemas import ContactFields
from nexa.contacts.serializers import contact_out
from nexa.conversations.models import Conversation, Message, SenderType
from nexa.inboxes.models import ChannelType, Inbox
from nexa.kit import phone
from nexa.kit.crypto import random_token
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.realtime import Event, EventName, account_members_channel, publish
from nexa.webhooks.outbox import record_event as record_webhook_event

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MERGED = ("additional_attributes", "custom_attributes")
_IDENTITY = ("email", "phone_number", "phone_key", "identifier", "avatar_url")


def _emit(session: AsyncSession, name: EventName, contact: Contact) -> None:
    """The one place contact changes reach realtime subscribers (after commit): every member of the account,
    as contacts are account-wide (Chatwoot sends contact.* to the whole account)."""
    data = contact_out(contact).model_dump(mode="json")
    publish(session, Event(name, data, account_id=contact.account_id, channels=[account_members_channel(contact.account_id)]))
    record_webhook_event(session, name, contact.account_id, contact_id=contact.id)


async def create_contact(session: AsyncSession, account_id: int, params: ContactFields) -> Contact:
    contact = Contact(account_id=account_id, name="", additional_attributes={}, custom_attributes={},
                      lead_score_reasons=[])
    await _apply(ContactRepository(session, account_id), contact, params)
    session.add(contact)
    await session.flush()
    _emit(session, EventName.CONTACT_CREATED, contact)
    return contact


async def update_contact(session: AsyncSession, contact: Contact, params: ContactFields) -> Contact:
    """Changes what was sent; custom and additional attributes are merged into the stored ones (Chatwoot)."""
    await _apply(ContactRepository(session, contact.account_id), contact, params)
    await session.flush()
    _emit(session, EventName.CONTACT_UPDATED, contact)
    return contact


async def _apply(repository: ContactRepository, contact: Contact, params: ContactFields) -> None:
    changes: dict[str, Any] = params.model_dump(exclude_unset=True, include=set(ContactFields.model_fields))
    if "email" in changes:
        contact.email = await _checked_email(repository, contact, changes.pop("email"))
    if "phone_number" in changes:
        contact.phone_number, contact.phone_key = await _checked_phone(repository, contact, changes.pop("phone_number"))
    if "identifier" in changes:
        contact.identifier = await _checked_identifier(repository, contact, changes.pop("identifier"))
    for field in _MERGED:
        if field in changes:
            setattr(contact, field, {**getattr(contact, field), **(changes.pop(field) or {})})
    if "name" in changes:
        contact.name = (changes.pop("name") or "").strip()
    for field, value in changes.items():
        if value is not None or field in ("avatar_url", "lead_score"):
            setattr(contact, field, value)


async def _checked_email(repository: ContactRepository, contact: Contact, raw: str | None) -> str | None:
    email = (raw or "").strip().lower() or None
    if email is None:
        return None
    if not _EMAIL.match(email):
        raise ValidationFailed(_("Email Invalid email"), ["email"])
    existing = await repository.get_by_email(email)
    if existing is not None and existing is not contact:
        raise ValidationFailed(_("Email has already been taken"), ["email"])
    return email


async def _checked_phone(
    repository: ContactRepository, contact: Contact, raw: str | None
) -> tuple[str | None, str | None]:
    if not (raw or "").strip():
        return None, None
    try:
        e164 = phone.normalize(raw or "")
    except ValueError as exc:
        raise ValidationFailed(_("Phone number %(reason)s", reason=exc), ["phone_number"]) from exc
    key = phone.match_key(e164)
    existing = await repository.get_by_phone_key(key)
    if existing is not None and existing is not contact:
        raise ValidationFailed(_("Phone number has already been taken"), ["phone_number"])
    return e164, key


async def _checked_identifier(repository: ContactRepository, contact: Contact, raw: str | None) -> str | None:
    identifier = (raw or "").strip() or None
    if identifier is None:
        return None
    existing = await repository.get_by_identifier(identifier)
    if existing is not None and existing is not contact:
        raise ValidationFailed(_("Identifier has already been taken"), ["identifier"])
    return identifier


async def find_or_create_by_phone(
    session: AsyncSession, account_id: int, raw_phone: str, *, name: str | None = None, default_region: str = "BR"
) -> Contact:
    """The account's contact for this phone, created when new.

    Brazilian mobiles match with or without the 9th digit. Safe against a concurrent creator: the unique
    (account_id, phone_key) decides, and the loser reads the winner's row.
    """
    try:
        e164 = phone.normalize(raw_phone, default_region)
    except ValueError as exc:
        raise ValidationFailed(_("Phone number %(reason)s", reason=exc), ["phone_number"]) from exc
    key = phone.match_key(e164)
    repository = ContactRepository(session, account_id)
    existing = await repository.get_by_phone_key(key)
    if existing is not None:
        return existing
    contact = Contact(
        account_id=account_id, name=(name or "").strip() or e164, phone_number=e164, phone_key=key,
        additional_attributes={}, custom_attributes={}, lead_score_reasons=[],
    )
    try:
        async with session.begin_nested():
            session.add(contact)
    except IntegrityError:
        winner = await repository.get_by_phone_key(key)
        if winner is None:
            raise
        return winner
    _emit(session, EventName.CONTACT_CREATED, contact)
    return contact


async def find_or_create_contact_inbox(
    session: AsyncSession, contact: Contact, inbox: Inbox, source_id: str | None = None
) -> ContactInbox:
    """The contact's address in `inbox`. Without a source_id, WhatsApp uses the phone digits (the wa_id),
    other channels a random id. A source_id that belongs to another contact is a 422."""
    repository = ContactInboxRepository(session, contact.account_id)
    source = (source_id or "").strip() or _default_source_id(contact, inbox)
    existing = await repository.get_by_source(inbox.id, source)
    if existing is not None:
        if existing.contact_id != contact.id:
            raise ValidationFailed(_("Source has already been taken"), ["source_id"])
        return existing
    contact_inbox = ContactInbox(
        account_id=contact.account_id, contact_id=contact.id, inbox_id=inbox.id, source_id=source,
        pubsub_token=random_token(32),
    )
    try:
        async with session.begin_nested():
            session.add(contact_inbox)
    except IntegrityError:
        winner = await repository.get_by_source(inbox.id, source)
        if winner is None or winner.contact_id != contact.id:
            raise ValidationFailed(_("Source has already been taken"), ["source_id"]) from None
        return winner
    return contact_inbox


def _default_source_id(contact: Contact, inbox: Inbox) -> str:
    if inbox.channel_type in (ChannelType.whatsapp_cloud, ChannelType.evolution):
        if contact.phone_number is None:
            raise ValidationFailed(_("Phone number is required for WhatsApp inboxes"), ["phone_number"])
        return contact.phone_number.lstrip("+")
    return str(uuid.uuid4())


async def destroy_custom_attributes(session: AsyncSession, contact: Contact, keys: list[str]) -> Contact:
    contact.custom_attributes = {k: v for k, v in contact.custom_attributes.items() if k not in set(keys)}
    await session.flush()
    _emit(session, EventName.CONTACT_UPDATED, contact)
    return contact


async def add_note(session: AsyncSession, contact: Contact, content: str, *, user_id: int | None) -> ContactNote:
    note = ContactNote(contact_id=contact.id, user_id=user_id, content=content)
    return await ContactNoteRepository(session, contact.account_id).add(note)


async def merge_contacts(session: AsyncSession, base: Contact, mergee: Contact) -> Contact:
    """One person known twice (e.g. a Brazilian number with and without the 9th digit) becomes `base`:
    conversations, contact inboxes, notes and labels move over, attributes merge (base wins), and the
    mergee is deleted."""
    if base.id == mergee.id:
        raise ValidationFailed(_("A contact cannot be merged into itself"), ["mergee_contact_id"])
    account_id = base.account_id
    for model in (Conversation, ContactInbox, ContactNote):
        await session.execute(
            update(model).where(model.account_id == account_id, model.contact_id == mergee.id).values(contact_id=base.id)
        )
    await session.execute(
        update(Message)
        .where(
            # Through the moved conversations: messages are indexed by conversation, not by sender.
            Message.conversation_id.in_(select(Conversation.id).where(Conversation.contact_id == base.id)),
            Message.sender_type == SenderType.contact,
            Message.sender_id == mergee.id,
        )
        .values(sender_id=base.id)
    )
    labels = ContactLabelRepository(session, account_id)
    await labels.replace(base.id, [*await labels.titles(base.id), *await labels.titles(mergee.id)])
    taken_over = {field: getattr(mergee, field) for field in _IDENTITY if getattr(base, field) is None}
    merged_attributes = {field: {**getattr(mergee, field), **getattr(base, field)} for field in _MERGED}
    await session.delete(mergee)
    await session.flush()  # the mergee's unique email/phone/identifier are free only once it is gone
    for field, value in taken_over.items():
        setattr(base, field, value)
    for field, value in merged_attributes.items():
        setattr(base, field, value)
    if not base.name and mergee.name:
        base.name = mergee.name
    await session.flush()
    _emit(session, EventName.CONTACT_MERGED, base)
    return base


def contactable_source_id(contact: Contact, inbox: Inbox, existing: ContactInbox | None) -> str | None:
    """The address a new conversation with `contact` would use in `inbox`, or None when it cannot reach them
    (WhatsApp without a phone; Telegram and web chat only once the contact wrote there)."""
    if existing is not None:
        return existing.source_id
    if inbox.channel_type in (ChannelType.whatsapp_cloud, ChannelType.evolution):
        return contact.phone_number.lstrip("+") if contact.phone_number else None
    if inbox.channel_type == ChannelType.api:
        return str(uuid.uuid4())
    return None
