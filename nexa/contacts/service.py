"""Contacts: validation with Chatwoot's 422 bodies, attribute merging, phone-based find-or-create."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.contacts.models import Contact, ContactInbox, ContactNote
from nexa.contacts.repository import (
    ContactInboxRepository,
    ContactLabelRepository,
    ContactNoteRepository,
    ContactRepository,
)
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


def _new_contact(account_id: int, name: str, **identity: str | None) -> Contact:
    return Contact(account_id=account_id, name=name, additional_attributes={}, custom_attributes={},
                   lead_score_reasons=[], **identity)


async def create_contact(session: AsyncSession, account_id: int, params: ContactFields) -> Contact:
    contact = _new_contact(account_id, "")
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


def _phone_and_key(raw_phone: str, default_region: str = "BR") -> tuple[str, str]:
    """The number as E.164 and its match key (Brazilian mobiles with or without the 9th digit share one)."""
    try:
        e164 = phone.normalize(raw_phone, default_region)
    except ValueError as exc:
        raise ValidationFailed(_("Phone number %(reason)s", reason=exc), ["phone_number"]) from exc
    return e164, phone.match_key(e164)


async def find_or_create_by_phone(
    session: AsyncSession, account_id: int, raw_phone: str, *, name: str | None = None, default_region: str = "BR"
) -> Contact:
    """The account's contact for this phone, created when new.

    Brazilian mobiles match with or without the 9th digit. Safe against a concurrent creator: the unique
    (account_id, phone_key) decides, and the loser reads the winner's row.
    """
    e164, key = _phone_and_key(raw_phone, default_region)
    repository = ContactRepository(session, account_id)
    existing = await repository.get_by_phone_key(key)
    if existing is not None:
        return existing
    contact = _new_contact(account_id, (name or "").strip() or e164, phone_number=e164, phone_key=key)
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


@dataclass(frozen=True)
class Person:
    """Someone a channel reports, to find among the account's contacts or add to them."""

    address: str  # where the channel reaches them; the name of a new contact who has no other
    name: str | None = None
    phone: str | None = None
    identifier: str | None = None

    @property
    def clean_identifier(self) -> str | None:
        return (self.identifier or "").strip() or None


async def find_or_create_person(session: AsyncSession, account_id: int, person: Person) -> Contact:
    """The account's contact for `person`: the one with their phone when it is dialable (see
    `find_or_create_by_phone`), given their identifier if it has none; otherwise a new contact, known by
    their identifier unless another contact has it (then by their address in the inbox only)."""
    if person.phone:
        try:
            contact = await find_or_create_by_phone(session, account_id, person.phone, name=person.name)
        except ValidationFailed:
            pass  # not a dialable number (a business-scoped id, a group): keep the person all the same
        else:
            if person.clean_identifier and not contact.identifier:
                contact.identifier = person.clean_identifier
            return contact
    identifier = person.clean_identifier
    if identifier and await ContactRepository(session, account_id).get_by_identifier(identifier):
        identifier = None
    return await create_contact(
        session, account_id, ContactFields(name=person.name or person.address, identifier=identifier)
    )


async def find_or_create_people(
    session: AsyncSession, account_id: int, people: Sequence[Person]
) -> list[Contact]:
    """`find_or_create_person` for each of `people`, in order, with one SELECT per kind of key and one
    INSERT for all the new contacts (two people may share one: both forms of a Brazilian mobile).

    When a concurrent transaction created one of these contacts meanwhile, the unique key fails the
    INSERT, which is undone, and each person then goes the one-at-a-time way, which reads the winner's row.
    """
    phones: dict[int, tuple[str, str]] = {}
    for index, person in enumerate(people):
        if person.phone:
            try:
                phones[index] = _phone_and_key(person.phone)
            except ValidationFailed:
                pass  # not a dialable number: known by identifier, as find_or_create_person does
    repository = ContactRepository(session, account_id)
    by_key = await repository.by_phone_keys({key for _, key in phones.values()})
    identifiers = {index: person.clean_identifier for index, person in enumerate(people)}
    taken = await repository.taken_identifiers(
        {identifier for index, identifier in identifiers.items() if index not in phones and identifier}
    )
    contacts: list[Contact] = []
    created: list[Contact] = []
    for index, person in enumerate(people):
        if index in phones:
            e164, key = phones[index]
            contact = by_key.get(key)
            if contact is None:
                contact = by_key[key] = _new_contact(
                    account_id, (person.name or "").strip() or e164, phone_number=e164, phone_key=key
                )
                created.append(contact)
        else:
            identifier = identifiers[index]
            if identifier in taken:
                identifier = None
            elif identifier is not None:
                taken.add(identifier)
            contact = _new_contact(account_id, (person.name or person.address).strip(), identifier=identifier)
            created.append(contact)
        contacts.append(contact)
    if created:
        try:
            async with session.begin_nested():
                session.add_all(created)
        except IntegrityError:
            return [await find_or_create_person(session, account_id, person) for person in people]
    for contact in created:
        _emit(session, EventName.CONTACT_CREATED, contact)
    for index, contact in enumerate(contacts):
        identifier = identifiers[index]
        if index in phones and identifier and not contact.identifier:
            contact.identifier = identifier
    return contacts


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
    contact_inbox = _new_contact_inbox(contact, inbox, source)
    try:
        async with session.begin_nested():
            session.add(contact_inbox)
    except IntegrityError:
        winner = await repository.get_by_source(inbox.id, source)
        if winner is None or winner.contact_id != contact.id:
            raise ValidationFailed(_("Source has already been taken"), ["source_id"]) from None
        return winner
    return contact_inbox


async def add_contact_inboxes(
    session: AsyncSession, inbox: Inbox, addresses: Sequence[tuple[Contact, str]]
) -> list[ContactInbox]:
    """New contact inboxes for (contact, source_id) pairs whose source_id the caller found unused in
    `inbox`, one INSERT for all.

    Raises IntegrityError, with nothing added, when a concurrent transaction took one of the addresses
    meanwhile: the caller then goes through `find_or_create_contact_inbox`, which reads the winner's row.
    """
    rows = [_new_contact_inbox(contact, inbox, source) for contact, source in addresses]
    async with session.begin_nested():
        session.add_all(rows)
    return rows


def _new_contact_inbox(contact: Contact, inbox: Inbox, source_id: str) -> ContactInbox:
    return ContactInbox(
        account_id=contact.account_id, contact_id=contact.id, inbox_id=inbox.id, source_id=source_id,
        pubsub_token=random_token(32),
    )


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
