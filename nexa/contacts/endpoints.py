from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.contacts import service
from nexa.auth.models import User
from nexa.auth.repository import UserRepository
from nexa.contacts.models import Contact, ContactNote
from nexa.contacts.repository import (
    ContactInboxRepository,
    ContactLabelRepository,
    ContactNoteRepository,
    ContactRepository,
)
from nexa.contacts.schemas import (
    ContactableInbox,
    ContactableInboxes,
    ContactCreate,
    ContactCreated,
    ContactInboxCreate,
    ContactInboxOut,
    ContactList,
    ContactMerge,
    ContactOut,
    ContactPayload,
    ContactUpdate,
    CreatedContact,
    CreatedContactInbox,
    CustomAttributeKeys,
    ListMeta,
    NoteFields,
    NoteOut,
)
from nexa.contacts.serializers import contact_inbox_out, contact_out, note_out
from nexa.inboxes.repository import InboxRepository
from nexa.inboxes.serializers import inbox_out
from nexa.kit.filters import FilterRequest
from nexa.kit.pagination import PageNumber, paginate
from nexa.kit.params import search_term
from nexa.labels.schemas import LabelTitles, LabelTitlesOut
from nexa.realtime.presence import present_contact_ids

router = APIRouter(prefix="/api/v1/accounts/{account_id}/contacts", tags=["contacts"])
actions_router = APIRouter(prefix="/api/v1/accounts/{account_id}/actions", tags=["contacts"])

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
        statement = statement.where(
            Contact.id.in_(ContactLabelRepository(session, ctx.account_id).owners_with_all(labels))
        )
    return await _page(session, repository, repository.sorted(statement, sort), page)


@router.get("/active", response_model=ContactList)
async def active_contacts(ctx: ContactsRead, session: DbSession, runtime: RuntimeDep, page: PageNumber = 1) -> ContactList:
    """Contacts online on the web widget now (a widget socket seen in the last ~20 s), Chatwoot's shape."""
    repository = ContactRepository(session, ctx.account_id)
    present = await present_contact_ids(runtime, ctx.account_id)
    statement = repository.select().where(Contact.id.in_(present)).order_by(Contact.id)
    return await _page(session, repository, statement, page)


@router.get("/search", response_model=ContactList)
async def search_contacts(
    ctx: ContactsRead,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=255)] = None,
    page: PageNumber = 1,
    sort: str | None = None,
) -> ContactList:
    """Contacts whose name, email, phone, identifier or company contains `q` (case-insensitive)."""
    repository = ContactRepository(session, ctx.account_id)
    return await _page(session, repository, repository.sorted(repository.matching(search_term(q)), sort), page)


@router.post("", response_model=ContactCreated)
async def create_contact(
    body: ContactCreate, ctx: ContactsWrite, session: DbSession, runtime: RuntimeDep
) -> ContactCreated:
    """Creates the contact and, with `inbox_id`, its contact inbox (WhatsApp source_id defaults to the phone)."""
    inbox = await InboxRepository(session, ctx.account_id).with_templates_or_404(body.inbox_id) if body.inbox_id else None
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


@router.delete("/{contact_id}", status_code=200, response_class=Response)
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


@router.post("/filter", response_model=ContactList)
async def filter_contacts(body: FilterRequest, ctx: ContactsRead, session: DbSession, page: PageNumber = 1) -> ContactList:
    """Chatwoot's filter: `{payload: [{attribute_key, filter_operator, values, query_operator}]}` over the
    standard attributes (name, email, phone_number, identifier, city, country_code, company, referer,
    lead_status, blocked, created_at, last_activity_at, labels); any other key is a custom attribute."""
    repository = ContactRepository(session, ctx.account_id)
    return await _page(session, repository, repository.sorted(repository.filtered(body.payload), None), page)


@router.get("/{contact_id}/contactable_inboxes", response_model=ContactableInboxes)
async def list_contactable_inboxes(
    contact_id: int, ctx: ContactsRead, session: DbSession, runtime: RuntimeDep
) -> ContactableInboxes:
    """The inboxes a new conversation with this contact can start in, with the source_id it would use."""
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    existing = {ci.inbox_id: ci for ci in await ContactInboxRepository(session, ctx.account_id).for_contact(contact.id)}
    reachable = []
    for inbox in await InboxRepository(session, ctx.account_id).ordered():
        source_id = service.contactable_source_id(contact, inbox, existing.get(inbox.id))
        if source_id is not None:
            reachable.append(ContactableInbox(source_id=source_id, inbox=inbox_out(inbox, base_url=runtime.settings.base_url)))
    return ContactableInboxes(payload=reachable)


@router.post("/{contact_id}/destroy_custom_attributes", response_model=ContactPayload)
async def destroy_custom_attributes(
    contact_id: int, body: CustomAttributeKeys, ctx: ContactsWrite, session: DbSession
) -> ContactPayload:
    """Removes the named keys from the contact's custom_attributes."""
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    return await _contact_payload(session, await service.destroy_custom_attributes(session, contact, body.custom_attributes))


async def _note_out(session: AsyncSession, note: ContactNote) -> NoteOut:
    author = await UserRepository(session).get(note.user_id) if note.user_id is not None else None
    return note_out(note, author)


@router.get("/{contact_id}/notes", response_model=list[NoteOut])
async def list_notes(contact_id: int, ctx: ContactsRead, session: DbSession) -> list[NoteOut]:
    """The contact's notes, newest first (a bare array, as Chatwoot)."""
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    notes = await ContactNoteRepository(session, ctx.account_id).of_contact(contact.id)
    author_ids = {n.user_id for n in notes if n.user_id is not None}
    users = UserRepository(session)
    authors = (
        {u.id: u for u in await users.list(users.select().where(User.id.in_(author_ids)))}
        if author_ids
        else {}
    )
    return [note_out(n, authors.get(n.user_id) if n.user_id else None) for n in notes]


@router.post("/{contact_id}/notes", response_model=NoteOut)
async def create_note(contact_id: int, body: NoteFields, ctx: ContactsWrite, session: DbSession) -> NoteOut:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    note = await service.add_note(session, contact, body.content, user_id=ctx.user.id if ctx.user else None)
    return await _note_out(session, note)


@router.get("/{contact_id}/notes/{note_id}", response_model=NoteOut)
async def show_note(contact_id: int, note_id: int, ctx: ContactsRead, session: DbSession) -> NoteOut:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    return await _note_out(session, await ContactNoteRepository(session, ctx.account_id).get_on_contact_or_404(contact.id, note_id))


@router.patch("/{contact_id}/notes/{note_id}", response_model=NoteOut)
async def update_note(contact_id: int, note_id: int, body: NoteFields, ctx: ContactsWrite, session: DbSession) -> NoteOut:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    note = await ContactNoteRepository(session, ctx.account_id).get_on_contact_or_404(contact.id, note_id)
    note.content = body.content
    await session.flush()
    return await _note_out(session, note)


@router.delete("/{contact_id}/notes/{note_id}", status_code=200, response_class=Response)
async def delete_note(contact_id: int, note_id: int, ctx: ContactsWrite, session: DbSession) -> Response:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    repository = ContactNoteRepository(session, ctx.account_id)
    await repository.delete(await repository.get_on_contact_or_404(contact.id, note_id))
    return Response(status_code=200)


@actions_router.post("/contact_merge", response_model=ContactOut)
async def merge_contacts(body: ContactMerge, ctx: ContactsWrite, session: DbSession) -> ContactOut:
    """Merges the mergee into the base contact and deletes the mergee; answers with the base contact."""
    repository = ContactRepository(session, ctx.account_id)
    base = await repository.get_or_404(body.base_contact_id)
    mergee = await repository.get_or_404(body.mergee_contact_id)
    merged = await service.merge_contacts(session, base, mergee)
    await session.refresh(merged)
    return (await _contact_payload(session, merged)).payload
