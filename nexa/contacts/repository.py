from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from nexa.contacts.models import Contact, ContactInbox, ContactLabel, ContactNote
from nexa.db.dialect import json_text
from nexa.kit.errors import NotFound
from nexa.kit.filters import Attribute, FilterCondition, build_where
from nexa.kit.params import LIKE_ESCAPE, like_pattern
from nexa.labels.repository import TaggingRepository
from nexa.tenancy.repository import AccountRepository

# Chatwoot's contact sort keys; company, city and country live in additional_attributes.
_ATTRIBUTE_SORTS = {"company": "company_name", "city": "city", "country": "country"}
_COLUMN_SORTS = ("name", "email", "phone_number", "last_activity_at", "created_at")


class ContactRepository(AccountRepository[Contact]):
    model = Contact

    async def get_by_email(self, email: str) -> Contact | None:
        return await self.session.scalar(self.select().where(Contact.email == email))

    async def get_by_identifier(self, identifier: str) -> Contact | None:
        return await self.session.scalar(self.select().where(Contact.identifier == identifier))

    async def get_by_phone_key(self, phone_key: str) -> Contact | None:
        return await self.session.scalar(self.select().where(Contact.phone_key == phone_key))

    async def by_phone_keys(self, phone_keys: Iterable[str]) -> dict[str, Contact]:
        wanted = sorted(set(phone_keys))
        if not wanted:
            return {}
        found = await self.list(self.select().where(Contact.phone_key.in_(wanted)))
        return {contact.phone_key: contact for contact in found if contact.phone_key is not None}

    async def taken_identifiers(self, identifiers: Iterable[str]) -> set[str]:
        """Those of `identifiers` that some contact of the account has."""
        wanted = sorted(set(identifiers))
        if not wanted:
            return set()
        statement = select(Contact.identifier).where(
            Contact.account_id == self.account_id, Contact.identifier.in_(wanted)
        )
        return {identifier for identifier in await self.session.scalars(statement) if identifier is not None}

    def sorted(self, statement: Select[tuple[Contact]], sort: str | None) -> Select[tuple[Contact]]:
        key = (sort or "-last_activity_at").strip()
        descending = key.startswith("-")
        key = key.lstrip("-")
        column: Any
        if key in _ATTRIBUTE_SORTS:
            column = Contact.additional_attributes[_ATTRIBUTE_SORTS[key]].as_string()
        elif key in _COLUMN_SORTS:
            column = getattr(Contact, key)
        else:
            column = Contact.last_activity_at
        ordered = column.desc().nulls_last() if descending else column.asc().nulls_last()
        return statement.order_by(ordered, Contact.id.desc() if descending else Contact.id)

    def filtered(self, conditions: Sequence[FilterCondition]) -> Select[tuple[Contact]]:
        """Contacts matching Chatwoot's filter payload (POST /contacts/filter)."""
        return self.select().where(build_where(conditions, self._filter_attributes(), Contact.custom_attributes))

    def _filter_attributes(self) -> dict[str, Attribute]:
        def has_any_label(titles: Sequence[str] | None) -> ColumnElement[bool]:
            labelled = select(ContactLabel.id).where(
                ContactLabel.account_id == self.account_id, ContactLabel.contact_id == Contact.id
            )
            return exists(labelled if titles is None else labelled.where(ContactLabel.title.in_(titles)))

        extra = Contact.additional_attributes
        return {
            "name": Attribute("text", Contact.name),
            "email": Attribute("text", Contact.email),
            "phone_number": Attribute("text", Contact.phone_number),
            "identifier": Attribute("text", Contact.identifier),
            "city": Attribute("text", json_text(extra, "city")),
            "country_code": Attribute("text", json_text(extra, "country_code")),
            "company": Attribute("text", json_text(extra, "company_name")),
            "referer": Attribute("text", json_text(extra, "referer")),
            "lead_status": Attribute("text", Contact.lead_status),
            "blocked": Attribute("boolean", Contact.blocked),
            "created_at": Attribute("date", Contact.created_at),
            "last_activity_at": Attribute("date", Contact.last_activity_at),
            "labels": Attribute("labels", has_any_label=has_any_label),
        }

    def matching(self, term: str) -> Select[tuple[Contact]]:
        """Contacts reachable somehow (email, phone or identifier) whose name, email, phone, identifier
        or company contains `term`, as Chatwoot's search does."""
        pattern = like_pattern(term)
        fields = [
            Contact.name,
            Contact.email,
            Contact.phone_number,
            Contact.identifier,
            Contact.additional_attributes["company_name"].as_string(),
        ]
        return self.select().where(
            or_(Contact.email.is_not(None), Contact.phone_number.is_not(None), Contact.identifier.is_not(None)),
            or_(*(func.lower(field).like(pattern, escape=LIKE_ESCAPE) for field in fields)),
        )


class ContactInboxRepository(AccountRepository[ContactInbox]):
    model = ContactInbox

    async def get_by_source(self, inbox_id: int, source_id: str) -> ContactInbox | None:
        return await self.session.scalar(
            self.select().where(ContactInbox.inbox_id == inbox_id, ContactInbox.source_id == source_id)
        )

    async def get_for_contact(self, contact_id: int, inbox_id: int) -> ContactInbox | None:
        statement = (
            self.select()
            .where(ContactInbox.contact_id == contact_id, ContactInbox.inbox_id == inbox_id)
            .order_by(ContactInbox.id.desc())
            .limit(1)
        )
        return await self.session.scalar(statement)

    async def by_contact(self, contact_ids: Iterable[int]) -> dict[int, list[ContactInbox]]:
        """Each contact's contact inboxes with their inbox loaded, in one query."""
        ids = list(set(contact_ids))
        found: dict[int, list[ContactInbox]] = defaultdict(list)
        if not ids:
            return found
        statement = (
            self.select()
            .where(ContactInbox.contact_id.in_(ids))
            .options(selectinload(ContactInbox.inbox))
            .order_by(ContactInbox.id)
        )
        for contact_inbox in await self.list(statement):
            found[contact_inbox.contact_id].append(contact_inbox)
        return found

    async def for_contact(self, contact_id: int) -> Sequence[ContactInbox]:
        return (await self.by_contact([contact_id])).get(contact_id, [])


class ContactLabelRepository(TaggingRepository[ContactLabel]):
    model = ContactLabel
    owner_key = "contact_id"


class ContactNoteRepository(AccountRepository[ContactNote]):
    model = ContactNote

    async def of_contact(self, contact_id: int) -> Sequence[ContactNote]:
        return await self.list(self.select().where(ContactNote.contact_id == contact_id).order_by(ContactNote.id.desc()))

    async def get_on_contact_or_404(self, contact_id: int, note_id: int) -> ContactNote:
        note = await self.session.scalar(self.select().where(ContactNote.contact_id == contact_id, ContactNote.id == note_id))
        if note is None:
            raise NotFound()
        return note
