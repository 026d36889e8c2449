from __future__ import annotations

from collections.abc import Sequence

from nexa.auth.models import User
from nexa.contacts.models import Contact, ContactInbox, ContactNote
from nexa.contacts.schemas import ContactInboxOut, ContactOut, NoteAuthor, NoteOut
from nexa.inboxes.serializers import inbox_summary
from nexa.kit.clock import to_unix


def contact_out(contact: Contact, contact_inboxes: Sequence[ContactInbox] = ()) -> ContactOut:
    """Chatwoot's contact JSON. `contact_inboxes` must have their inbox loaded (see ContactInboxRepository)."""
    return ContactOut(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        phone_number=contact.phone_number,
        identifier=contact.identifier,
        blocked=contact.blocked,
        thumbnail=contact.avatar_url or "",
        avatar_url=contact.avatar_url or "",
        availability_status="offline",  # presence tracking of contacts arrives with the web widget
        additional_attributes=contact.additional_attributes,
        custom_attributes=contact.custom_attributes,
        last_activity_at=to_unix(contact.last_activity_at),
        created_at=to_unix(contact.created_at) or 0,
        contact_inboxes=[contact_inbox_out(ci) for ci in contact_inboxes],
        lead_status=contact.lead_status.value,
        lead_score=contact.lead_score,
        lead_score_reasons=contact.lead_score_reasons,
    )


def contact_inbox_out(contact_inbox: ContactInbox) -> ContactInboxOut:
    return ContactInboxOut(source_id=contact_inbox.source_id, inbox=inbox_summary(contact_inbox.inbox))


def note_out(note: ContactNote, author: User | None) -> NoteOut:
    return NoteOut(
        id=note.id,
        content=note.content,
        account_id=note.account_id,
        contact_id=note.contact_id,
        user=NoteAuthor(
            id=author.id, name=author.name, available_name=author.available_name, email=author.email, thumbnail=""
        ) if author else None,
        created_at=to_unix(note.created_at) or 0,
        updated_at=to_unix(note.updated_at) or 0,
    )
