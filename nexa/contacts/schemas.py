from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from nexa.contacts.models import LeadStatus
from nexa.inboxes.schemas import InboxOut, InboxSummary
from nexa.kit.params import WrappedParams


class ContactFields(WrappedParams):
    """Writable contact fields; every one optional so an update changes only what was sent."""

    wrapper = "contact"

    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=255)
    phone_number: str | None = Field(default=None, max_length=64)
    identifier: str | None = Field(default=None, max_length=255)
    avatar_url: str | None = Field(default=None, max_length=2048)
    blocked: bool | None = None
    additional_attributes: dict[str, Any] | None = None
    custom_attributes: dict[str, Any] | None = None
    lead_status: LeadStatus | None = None
    lead_score: int | None = Field(default=None, ge=1, le=10)
    lead_score_reasons: list[str] | None = None


class ContactCreate(ContactFields):
    inbox_id: int | None = None
    source_id: str | None = Field(default=None, max_length=255)


class ContactUpdate(ContactFields):
    pass


class ContactInboxOut(BaseModel):
    source_id: str
    inbox: InboxSummary


class ContactOut(BaseModel):
    id: int
    name: str
    email: str | None
    phone_number: str | None
    identifier: str | None
    blocked: bool
    thumbnail: str
    avatar_url: str
    availability_status: str
    additional_attributes: dict[str, Any]
    custom_attributes: dict[str, Any]
    last_activity_at: int | None
    created_at: int
    contact_inboxes: list[ContactInboxOut]
    lead_status: str
    lead_score: int | None
    lead_score_reasons: list[str]
    type: str = "contact"


class CreatedContactInbox(BaseModel):
    inbox: InboxOut | None
    source_id: str | None


class CreatedContact(BaseModel):
    contact: ContactOut
    contact_inbox: CreatedContactInbox


class ContactCreated(BaseModel):
    payload: CreatedContact


class ContactPayload(BaseModel):
    payload: ContactOut


class ListMeta(BaseModel):
    count: int
    current_page: str


class ContactList(BaseModel):
    meta: ListMeta
    payload: list[ContactOut]


class ContactInboxCreate(BaseModel):
    inbox_id: int
    source_id: str | None = Field(default=None, max_length=255)


class CustomAttributeKeys(BaseModel):
    custom_attributes: list[str] = Field(max_length=200)


class NoteFields(WrappedParams):
    wrapper = "note"

    content: str = Field(min_length=1, max_length=20_000)


class NoteAuthor(BaseModel):
    id: int
    name: str
    available_name: str
    email: str
    thumbnail: str
    type: str = "user"


class NoteOut(BaseModel):
    id: int
    content: str
    account_id: int
    contact_id: int
    user: NoteAuthor | None
    created_at: int
    updated_at: int


class ContactableInbox(BaseModel):
    source_id: str
    inbox: InboxOut


class ContactableInboxes(BaseModel):
    payload: list[ContactableInbox]


class ContactMerge(BaseModel):
    base_contact_id: int
    mergee_contact_id: int
