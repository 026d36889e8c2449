from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.contacts import service
from nexa.contacts.models import Contact
from nexa.contacts.repository import ContactInboxRepository, ContactLabelRepository, ContactRepository
from nexa.contacts.schemas import (
    ContactCreate,
    ContactCreated,
    ContactInboxCreate,
    ContactInboxOut,
    ContactList,
    ContactOut,
    ContactPayload,
    ContactUpdate,
    CreatedContact,
    CreatedContactInbox,
    ListMeta,
)
from nexa.contacts.serializers import contact_inbox_out, contact_out
from nexa.inboxes.repository import InboxRepository
from nexa.inboxes.serializers import inbox_out
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.pagination import PageNumber, paginate
from nexa.labels.schemas import LabelTitles, LabelTitlesOut

router = APIRouter(prefix="/api/v1/accounts/{account_id}/contacts", tags=["contacts"])

ContactsRead = Annotated[AccountContext, Depends(authorize("contacts:read"))]
ContactsWrite = Annotated[AccountContext, Depends(authorize("contacts:write"))]

CONTACTS_PER_PAGE = 15  # Chatwoot's page size for contacts


async def _page(session: AsyncSession, repository: ContactRepository, statement: Select[tuple[Contact]], page: int) -> ContactList:
    count = await repository.count(statement)
    contacts = await repository.list(paginate(statement, page, CONTACTS_PER_PAGE))
    return ContactList(meta=ListMeta(count=count, current_page=str(page)), payload=await _with_inboxes(session, repository.account_id, contacts))


async def _with_inboxes(session: AsyncSession, account_id: int, contacts: Sequence[Contact]) -> list[ContactOut]:
    contact_inboxes = await ContactInboxRepository(session, account_id).by_contact(c.id for c in contacts)
    return [contact_out(c, contact_inboxes.get(c.id, [])) for c in contacts]


async def _contact_payload(session: AsyncSession, contact: Contact) -> ContactPayload:
    return ContactPayload(payload=(await _with_inboxes(session, contact.account_id, [contact]))[0])


@router.get("", response_model=ContactList)
async def list_contacts(
    ctx: ContactsRead,
    session: DbSession,
    page: PageNumber = 1,
    sort: Annotated[str | None, Query(description="name, email, phone_number, last_activity_at, created_at, company, city or country; '-' prefix for descending")] = None,
    labels: Annotated[list[str] | None, Query(alias="labels[]")] = None,
) -> ContactList:
    repository = ContactRepository(session, ctx.account_id)
    statement = repository.select()
    if labels:
        statement = statement.where(Contact.id.in_(ContactLabelRepository(session, ctx.account_id).owners_with_all(labels)))
    return await _page(session, repository, repository.sorted(statement, sort), page)


@router.get("/search", response_model=ContactList)
async def search_contacts(
    ctx: ContactsRead,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=255)] = None,
    page: PageNumber = 1,
    sort: str | None = None,
) -> ContactList:
    """Contacts whose name, email, phone, identifier or company contains `q` (case-insensitive)."""
    if not (q or "").strip():
        raise UnprocessableEntity("Specify search string with parameter q")
    repository = ContactRepository(session, ctx.account_id)
    return await _page(session, repository, repository.sorted(repository.matching((q or "").strip()), sort), page)


@router.post("", response_model=ContactCreated)
async def create_contact(
    body: ContactCreate, ctx: ContactsWrite, session: DbSession, runtime: RuntimeDep
) -> ContactCreated:
    """Creates the contact and, with `inbox_id`, its contact inbox (WhatsApp source_id defaults to the phone)."""
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(body.inbox_id) if body.inbox_id else None
    contact = await service.create_contact(session, ctx.account_id, body)
    contact_inbox = await service.find_or_create_contact_inbox(session, contact, inbox, body.source_id) if inbox else None
    return ContactCreated(
        payload=CreatedContact(
            contact=(await _contact_payload(session, contact)).payload,
            contact_inbox=CreatedContactInbox(
                inbox=inbox_out(inbox, base_url=runtime.settings.base_url) if inbox else None,
                source_id=contact_inbox.source_id if contact_inbox else None,
            ),
        )
    )


@router.get("/{contact_id}", response_model=ContactPayload)
async def show_contact(contact_id: int, ctx: ContactsRead, session: DbSession) -> ContactPayload:
    return await _contact_payload(session, await ContactRepository(session, ctx.account_id).get_or_404(contact_id))


@router.put("/{contact_id}", response_model=ContactPayload)
@router.patch("/{contact_id}", response_model=ContactPayload, include_in_schema=False)
async def update_contact(contact_id: int, body: ContactUpdate, ctx: ContactsWrite, session: DbSession) -> ContactPayload:
    """Updates what was sent; custom_attributes and additional_attributes are merged, not replaced."""
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    return await _contact_payload(session, await service.update_contact(session, contact, body))


@router.delete("/{contact_id}", status_code=200)
async def delete_contact(contact_id: int, ctx: ContactsWrite, session: DbSession) -> Response:
    """Deletes the contact with its conversations."""
    repository = ContactRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(contact_id))
    return Response(status_code=200)


@router.post("/{contact_id}/contact_inboxes", response_model=ContactInboxOut)
async def create_contact_inbox(
    contact_id: int, body: ContactInboxCreate, ctx: ContactsWrite, session: DbSession
) -> ContactInboxOut:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(body.inbox_id)
    contact_inbox = await service.find_or_create_contact_inbox(session, contact, inbox, body.source_id)
    contact_inbox.inbox = inbox
    return contact_inbox_out(contact_inbox)


@router.get("/{contact_id}/labels", response_model=LabelTitlesOut)
async def list_contact_labels(contact_id: int, ctx: ContactsRead, session: DbSession) -> LabelTitlesOut:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    return LabelTitlesOut(payload=await ContactLabelRepository(session, ctx.account_id).titles(contact.id))


@router.post("/{contact_id}/labels", response_model=LabelTitlesOut)
async def replace_contact_labels(
    contact_id: int, body: LabelTitles, ctx: ContactsWrite, session: DbSession
) -> LabelTitlesOut:
    """Makes the contact's labels exactly `labels`."""
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    return LabelTitlesOut(payload=await ContactLabelRepository(session, ctx.account_id).replace(contact.id, body.labels))
