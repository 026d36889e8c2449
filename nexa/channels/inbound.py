"""The inbound pipeline, the same for every channel: normalized events in, rows out, once and in order.

`receive()` runs in the job that processes stored webhooks (nexa/channels/inbound_queue.py), for a batch
of bodies in one transaction: contact found or created (Brazilian numbers with or without the 9th digit are one person;
a batch's new customers are created together, with a few statements for all of them),
conversation found or reopened, message inserted unless the provider already delivered it (unique per
inbox and provider id), receipts applied forward-only. Slow work (media download, the bot) is enqueued
in the same transaction and runs in jobs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, delete, exists
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from nexa.channels.base import (
    ChannelStatus,
    Customer,
    InboundEvent,
    InboundMessage,
    IncomingMedia,
    MessageChanged,
    StatusUpdate,
)
from nexa.channels.models import EarlyReceipt
from nexa.contacts import service as contacts
from nexa.contacts.models import Contact, ContactInbox
from nexa.contacts.repository import ContactInboxRepository, ContactRepository
from nexa.conversations import messages
from nexa.conversations import service as conversations
from nexa.conversations.messages import NewAttachment, NewMessage, Sender
from nexa.conversations.models import Conversation, Message, MessageStatus, MessageType, SenderType
from nexa.conversations.repository import ConversationRepository, MessageRepository
from nexa.db.dialect import conflict_aware_insert, is_postgres, one_of
from nexa.inboxes.models import Inbox
from nexa.jobs.chunks import together_or_alone
from nexa.jobs.enqueue import enqueue
from nexa.jobs.registry import ChunkFailures, ChunkJob, job
from nexa.kit.clock import utcnow

FETCH_MEDIA_JOB = "channels.fetch_media"
APPLY_WAITING_RECEIPTS_JOB = "channels.apply_waiting_receipts"
# A kept receipt's message usually gets its provider id within a second (the send is committing).
_RECEIPT_RECHECK_SECONDS = 1.0
_RECEIPT_WAIT = timedelta(minutes=2)
RowT = TypeVar("RowT")
MessageT = TypeVar("MessageT", Message, messages.MessageRow)


@dataclass
class Received:
    """What one batch of events did, for the logs and the tests."""

    created: list[Message] = field(default_factory=list)
    duplicates: int = 0
    receipts_applied: int = 0
    receipts_kept: int = 0
    changes_applied: int = 0


# An alias is costly to build (it copies the table's columns): one for the module, not one per batch.
_NEWER_CONVERSATION = aliased(Conversation, name="newer_conversation")


@dataclass
class _Known:
    """The rows a batch's events refer to, loaded with a few queries up front instead of several per event.

    Kept up to date as the batch adds rows, so a customer's second message in the batch finds the
    conversation the first one opened. Holding the rows here also keeps them in the session's identity
    map (which only holds weak references), so `session.get` answers without a query.
    """

    messages: dict[str, Message]  # by provider id: duplicates, quoted messages, edits' targets
    # By provider id: the messages that only receipts refer to, as plain rows.
    receipt_targets: dict[str, messages.MessageRow]
    contact_inboxes: dict[str, ContactInbox]  # by the customer's address in the inbox
    contacts: dict[int, Contact]
    latest_conversations: dict[int, Conversation | None]  # by contact inbox id
    conversations: list[Conversation]
    # By address: contacts made for new customers whose contact inboxes a concurrent batch took meanwhile.
    contacts_without_inbox: dict[str, Contact] = field(default_factory=dict)
    # Provider ids of the receipts this batch kept for messages not known yet (and not kept before).
    newly_kept_receipts: list[str] = field(default_factory=list)
    # The receipt targets whose status moved, by id: written with one UPDATE at the end of the batch.
    moved_by_receipts: dict[int, messages.MessageRow] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, inbox: Inbox, events: list[InboundEvent]) -> _Known:
        provider_ids: set[str] = set()
        receipt_ids: set[str] = set()
        addresses: set[str] = set()
        for event in events:
            if isinstance(event, InboundMessage):
                addresses.add(event.customer.source_id)
                reply_to = event.content_attributes.get("in_reply_to_external_id")
                if reply_to:
                    provider_ids.add(str(reply_to))
            if isinstance(event, (InboundMessage, MessageChanged)):
                provider_ids.add(event.source_id)
            elif isinstance(event, StatusUpdate):
                receipt_ids.add(event.source_id)
        receipt_ids -= provider_ids  # a message that other events refer to too is an ORM object for all of them
        account_id = inbox.account_id
        found = await _rows_in(session, MessageRepository(session, account_id).select().where(
            Message.inbox_id == inbox.id), Message.source_id, provider_ids)
        addressed = await _rows_in(session, ContactInboxRepository(session, account_id).select().where(
            ContactInbox.inbox_id == inbox.id), ContactInbox.source_id, addresses)
        people = await _rows_in(session, ContactRepository(session, account_id).select(), Contact.id,
                                {row.contact_id for row in addressed})
        conversations_of = ConversationRepository(session, account_id).select()
        newer = _NEWER_CONVERSATION
        latest = await _rows_in(session, conversations_of.where(~exists().where(
            newer.contact_inbox_id == Conversation.contact_inbox_id, newer.id > Conversation.id
        )), Conversation.contact_inbox_id, {row.id for row in addressed})
        targets = await _rows_in(session, conversations_of, Conversation.id, {m.conversation_id for m in found})
        receipt_targets = await _receipt_targets(session, inbox, receipt_ids)
        latest_conversations: dict[int, Conversation | None] = {row.id: None for row in addressed}
        latest_conversations.update({c.contact_inbox_id: c for c in latest if c.contact_inbox_id is not None})
        return cls(
            messages={m.source_id: m for m in found if m.source_id is not None},
            receipt_targets={row.source_id: row for row in receipt_targets if row.source_id is not None},
            contact_inboxes={row.source_id: row for row in addressed},
            contacts={contact.id: contact for contact in people},
            latest_conversations=latest_conversations,
            conversations=[*latest, *targets],
        )


async def _receipt_targets(session: AsyncSession, inbox: Inbox, source_ids: set[str]) -> list[messages.MessageRow]:
    if not source_ids:
        return []
    return messages.message_rows(await session.execute(_rows_by_provider_ids_statement(is_postgres(session)), {
        "account_id": inbox.account_id, "inbox_id": inbox.id, "source_ids": sorted(source_ids),
    }))


@functools.cache
def _rows_by_provider_ids_statement(postgres: bool) -> Select[Any]:
    # Built once, with bound values: receipts are most of the inbound batches' events.
    return messages.select_message_rows().where(
        Message.account_id == bindparam("account_id"), Message.inbox_id == bindparam("inbox_id"),
        one_of(Message.source_id, "source_ids", postgres=postgres),
    )


_IN_CHUNK = 500  # values per IN list, well under the drivers' bound parameter limits


async def _rows_in(
    session: AsyncSession, statement: Select[tuple[RowT]], column: ColumnElement[Any], values: set[Any]
) -> list[RowT]:
    """The rows of `statement` whose `column` is one of `values`."""
    ordered = sorted(values)
    statement = statement.where(one_of(column, "p_values", postgres=is_postgres(session)))
    rows: list[RowT] = []
    for start in range(0, len(ordered), _IN_CHUNK):
        rows.extend((await session.scalars(statement, {"p_values": ordered[start:start + _IN_CHUNK]})).all())
    return rows


async def receive(session: AsyncSession, inbox: Inbox, events: list[InboundEvent]) -> Received:
    """Store a batch of one inbox's events, in order.

    Consecutive customer messages are stored together (one INSERT, see `messages.create_messages`); any
    other event first stores the messages before it, so a receipt or an edit finds its message.
    """
    received = Received()
    known = await _Known.load(session, inbox, events)
    await _add_new_customers(session, inbox, events, known)
    drafts: list[NewMessage] = []
    for event in events:
        if isinstance(event, InboundMessage):
            reply_to = event.content_attributes.get("in_reply_to_external_id")
            if reply_to and any(draft.source_id == str(reply_to) for draft in drafts):
                await _store(session, inbox, drafts, known, received)  # the quoted message needs its id
            draft = await _draft(session, inbox, event, known, drafts)
            if draft is None:
                received.duplicates += 1
            else:
                drafts.append(draft)
            continue
        await _store(session, inbox, drafts, known, received)
        if isinstance(event, StatusUpdate):
            if await _apply_receipt(session, inbox, event, known):
                received.receipts_applied += 1
            else:
                received.receipts_kept += 1
        elif isinstance(event, MessageChanged):
            received.changes_applied += await _apply_change(session, event, known)
        elif isinstance(event, ChannelStatus):
            _keep_channel_status(inbox, event)
    await _store(session, inbox, drafts, known, received)
    await messages.write_statuses(session, list(known.moved_by_receipts.values()))
    await _look_again(session, inbox.account_id, inbox.id, known.newly_kept_receipts, utcnow() + _RECEIPT_WAIT)
    return received


def _keep_channel_status(inbox: Inbox, event: ChannelStatus) -> None:
    # A new dict, not an in-place update: the JSON column only notices reassignment.
    current = inbox.channel_config.get("channel_status") or {}
    inbox.channel_config = {**inbox.channel_config, "channel_status": {**current, **event.values}}


async def _draft(
    session: AsyncSession, inbox: Inbox, event: InboundMessage, known: _Known, drafts: list[NewMessage]
) -> NewMessage | None:
    """The message to store for this event; None when the provider already delivered it.

    Duplicates are told by the provider id, among stored messages and this batch's own. A batch holds
    every stored webhook of one customer shard (inbound_queue), so no other transaction stores the same
    customer's messages meanwhile; the unique index on (inbox, provider id) remains the last word.
    """
    if event.source_id in known.messages or any(draft.source_id == event.source_id for draft in drafts):
        return None
    contact, contact_inbox = await _find_or_create_customer(session, inbox, event.customer, known)
    if contact_inbox.id not in known.latest_conversations:
        known.latest_conversations[contact_inbox.id] = await ConversationRepository(
            session, inbox.account_id
        ).latest_for_contact_inbox(contact_inbox.id)
    conversation = await conversations.find_or_reopen_conversation(
        session, inbox=inbox, contact=contact, contact_inbox=contact_inbox,
        latest=known.latest_conversations[contact_inbox.id],
    )
    known.latest_conversations[contact_inbox.id] = conversation
    if event.referral:
        conversation.additional_attributes = {**conversation.additional_attributes, "referral": dict(event.referral)}
    attributes = dict(event.content_attributes)
    quoted = known.messages.get(str(attributes.get("in_reply_to_external_id") or ""))
    if quoted is not None:
        attributes["in_reply_to"] = quoted.id
    return NewMessage(
        conversation,
        inbox,
        MessageType.outgoing if event.from_business else MessageType.incoming,
        event.content,
        Sender() if event.from_business else Sender(SenderType.contact, contact.id),
        content_type=event.content_type,
        content_attributes=attributes,
        source_id=event.source_id,
        status=MessageStatus.sent if event.from_business else None,
        attachments=[_attachment(media) for media in event.attachments],
    )


async def _store(
    session: AsyncSession, inbox: Inbox, drafts: list[NewMessage], known: _Known, received: Received
) -> None:
    """Store the drafts so far (and empty the list)."""
    if not drafts:
        return
    stored = await messages.create_messages(session, drafts)
    for draft, message in zip(drafts, stored, strict=True):
        known.messages[str(message.source_id)] = message
        if draft.attachments:
            await _enqueue_media_fetches(session, inbox, message)
    received.created.extend(stored)
    drafts.clear()


async def _add_new_customers(
    session: AsyncSession, inbox: Inbox, events: list[InboundEvent], known: _Known
) -> None:
    """Contacts, contact inboxes and conversations for the batch's new customers (addresses the inbox has
    not seen), with a few statements for all of them: a campaign's replies are mostly new customers.

    A new address has no conversation to look up: each gets a new one. If a concurrent batch took one of
    the addresses meanwhile, the unique (inbox, source_id) undoes the contact inboxes' INSERT and each
    customer goes the one-at-a-time way in `_draft`, which finds the winner's contact inbox and conversation.
    """
    customers: dict[str, Customer] = {}
    for event in events:
        if (isinstance(event, InboundMessage) and event.source_id not in known.messages
                and event.customer.source_id not in known.contact_inboxes):
            customers.setdefault(event.customer.source_id, event.customer)
    if not customers:
        return
    people = await contacts.find_or_create_people(
        session, inbox.account_id, [_person(customer) for customer in customers.values()]
    )
    try:
        addressed = await contacts.add_contact_inboxes(
            session, inbox, list(zip(people, customers, strict=True))
        )
    except IntegrityError:
        known.contacts_without_inbox.update(zip(customers, people, strict=True))
        return
    started = await conversations.start_conversations(
        session, inbox, list(zip(people, addressed, strict=True))
    )
    for address, contact, contact_inbox, conversation in zip(
        customers, people, addressed, started, strict=True
    ):
        known.contacts[contact.id] = contact
        known.contact_inboxes[address] = contact_inbox
        known.latest_conversations[contact_inbox.id] = conversation
        known.conversations.append(conversation)


async def _find_or_create_customer(
    session: AsyncSession, inbox: Inbox, customer: Customer, known: _Known
) -> tuple[Contact, ContactInbox]:
    existing = known.contact_inboxes.get(customer.source_id)
    if existing is not None:
        contact = known.contacts.get(existing.contact_id) or await session.get(Contact, existing.contact_id)
        assert contact is not None
        return contact, existing
    contact = known.contacts_without_inbox.get(customer.source_id) or await contacts.find_or_create_person(
        session, inbox.account_id, _person(customer)
    )
    contact_inbox = await contacts.find_or_create_contact_inbox(session, contact, inbox, customer.source_id)
    known.contact_inboxes[customer.source_id] = contact_inbox
    known.contacts[contact.id] = contact
    return contact, contact_inbox


def _person(customer: Customer) -> contacts.Person:
    return contacts.Person(
        customer.source_id, name=customer.name, phone=customer.phone, identifier=customer.identifier
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


async def _apply_receipt(session: AsyncSession, inbox: Inbox, event: StatusUpdate, known: _Known) -> bool:
    """Apply a receipt to its message, or keep it until the message's provider id is known."""
    error = _error_text(event)
    target = known.receipt_targets.get(event.source_id)
    if target is not None:
        if await messages.apply_status(session, target, target.conversation, event.status, external_error=error):
            known.moved_by_receipts[target.id] = target
        return True
    message = known.messages.get(event.source_id)
    if message is None:
        if await _keep_early_receipt(session, inbox, event, error) and event.source_id not in known.newly_kept_receipts:
            known.newly_kept_receipts.append(event.source_id)
        return False
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    await messages.apply_status(session, message, conversation, event.status, external_error=error)
    return True


@functools.cache
def _early_receipt_insert(dialect: str) -> Any:
    # A receipt the provider posted twice is kept once: the unique key settles it, with no read first.
    columns = EarlyReceipt.__table__.c
    names = ("account_id", "inbox_id", "source_id", "status", "external_error", "occurred_at", "created_at")
    return (
        conflict_aware_insert(dialect)(EarlyReceipt.__table__)
        .values({name: bindparam(name, type_=columns[name].type) for name in names})
        .on_conflict_do_nothing(index_elements=["inbox_id", "source_id", "status"])
    )


async def _keep_early_receipt(session: AsyncSession, inbox: Inbox, event: StatusUpdate, error: str | None) -> bool:
    """Keep the receipt; False when it was kept already (the provider posted it again)."""
    kept = await session.execute(_early_receipt_insert(session.get_bind().dialect.name), {
        "account_id": inbox.account_id, "inbox_id": inbox.id, "source_id": event.source_id, "status": event.status,
        "external_error": error, "occurred_at": event.at, "created_at": utcnow(),
    })
    return bool(kept.rowcount)  # type: ignore[attr-defined]


async def _look_again(
    session: AsyncSession, account_id: int | None, inbox_id: int, source_ids: list[str], until: datetime
) -> None:
    """The sends that store these provider ids may be committing right now: each looked for early receipts
    before the receipts were committed, and the batch keeping them looked for the ids before theirs were.
    One job looks again for all of them in a second (one per receipt was a sixth of the loop's job rows)."""
    if source_ids:
        await enqueue(
            session, APPLY_WAITING_RECEIPTS_JOB,
            {"inbox_id": inbox_id, "source_ids": source_ids, "until": until.isoformat()},
            account_id=account_id, schedule_in=_RECEIPT_RECHECK_SECONDS,
        )


@job(APPLY_WAITING_RECEIPTS_JOB, queue="deliveries", chunked=True)
async def apply_waiting_receipts(jobs: Sequence[ChunkJob]) -> ChunkFailures:
    """Apply the receipts kept for these jobs' provider ids whose messages have them by now, in one
    transaction. The ids not stored yet are looked for again in a second by a job of their own, until the
    first job's `until` (a receipt for a message sent outside Nexa, say, is never matched): the receipts
    stay kept for a later send."""
    return await together_or_alone(jobs[0].ctx.database, [(item, None) for item in jobs], _apply_kept_receipts)


def _waiting_source_ids(item: ChunkJob) -> list[str]:
    # Jobs enqueued before one job covered a whole batch name a single receipt.
    return item.args["source_ids"] if "source_ids" in item.args else [item.args["source_id"]]


async def _apply_kept_receipts(session: AsyncSession, items: Sequence[tuple[ChunkJob, None]]) -> None:
    inboxes: dict[tuple[int | None, int], set[str]] = {}
    for item, _ in items:
        inboxes.setdefault((item.ctx.account_id, item.args["inbox_id"]), set()).update(_waiting_source_ids(item))
    sent: list[messages.MessageRow] = []
    for (account_id, inbox_id), source_ids in inboxes.items():
        sent.extend(messages.message_rows(await session.execute(
            _sent_messages_statement(is_postgres(session)), {"account_id": account_id, "inbox_id": inbox_id, "source_ids": sorted(source_ids)}
        )))
    await messages.write_statuses(session, await apply_early_receipts(session, [(row, row.conversation) for row in sent]))
    found = {(row.inbox_id, row.source_id) for row in sent}
    now = utcnow()
    for item, _ in items:
        inbox_id, until = item.args["inbox_id"], datetime.fromisoformat(item.args["until"])
        unknown = [source_id for source_id in _waiting_source_ids(item) if (inbox_id, source_id) not in found]
        if now < until:
            await _look_again(session, item.ctx.account_id, inbox_id, unknown, until)


@functools.cache
def _sent_messages_statement(postgres: bool) -> Select[Any]:
    # Locked up front, skipping messages another transaction holds (an inbound batch applying their next
    # receipt, say): waiting for one while holding others could deadlock. Those look again in a second.
    return (
        _rows_by_provider_ids_statement(postgres).order_by(Message.id).with_for_update(of=Message.__table__, skip_locked=True)
    )


async def apply_early_receipts(
    session: AsyncSession, sent: Sequence[tuple[MessageT, Conversation | messages.ConversationRef]]
) -> list[MessageT]:
    """Called once sent messages' provider ids are stored: receipts that beat them here are applied now.
    The messages they moved: ORM ones are written by the next flush, rows by `messages.write_statuses`."""
    by_inbox: dict[int, dict[str, tuple[MessageT, Conversation | messages.ConversationRef]]] = {}
    for message, conversation in sent:
        if message.source_id is not None:
            by_inbox.setdefault(message.inbox_id, {})[message.source_id] = (message, conversation)
    moved: dict[int, MessageT] = {}
    for inbox_id, by_source_id in by_inbox.items():
        # Taken in one statement per inbox (a send looks for them every time, and usually finds none); a
        # rollback puts them back.
        taken = await session.execute(
            _take_early_receipts_statement(is_postgres(session)), {"inbox_id": inbox_id, "source_ids": list(by_source_id)}
        )
        for receipt in sorted(taken, key=lambda row: (row.occurred_at, row.id)):
            message, conversation = by_source_id[receipt.source_id]
            if await messages.apply_status(
                session, message, conversation, receipt.status, external_error=receipt.external_error
            ):
                moved[message.id] = message
    return list(moved.values())


@functools.cache
def _take_early_receipts_statement(postgres: bool) -> Any:
    receipts = EarlyReceipt.__table__
    return (
        delete(receipts)
        .where(receipts.c.inbox_id == bindparam("inbox_id"), one_of(receipts.c.source_id, "source_ids", postgres=postgres))
        .returning(receipts.c.id, receipts.c.source_id, receipts.c.status, receipts.c.external_error, receipts.c.occurred_at)
    )


async def _apply_change(session: AsyncSession, event: MessageChanged, known: _Known) -> int:
    message = known.messages.get(event.source_id)
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

