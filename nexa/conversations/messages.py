"""Messages: creation with its effects on the conversation (activity, waiting time, first reply,
reopening, reporting events) and soft deletion."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    case,
    event,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from nexa.analytics import service as analytics
from nexa.analytics.models import ReportingEventName
from nexa.automation.triggers import record_trigger as record_automation_trigger
from nexa.contacts.repository import ContactRepository
from nexa.conversations import service as conversations
from nexa.conversations.models import (
    MESSAGE_TYPE_NUMBER,
    Attachment,
    ContentType,
    Conversation,
    ConversationStatus,
    FileType,
    Message,
    MessageStatus,
    MessageType,
    SenderType,
)
from nexa.inboxes.models import ChannelType, Inbox
from nexa.jobs.enqueue import NewJob, insert_jobs
from nexa.kit.clock import utcnow
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.notifications import service as notifications
from nexa.realtime import (
    Event,
    EventName,
    account_channel,
    contact_channel,
    conversation_channel,
    inbox_channel,
    publish,
)
from nexa.webhooks.outbox import record_event as record_webhook_event

DELETED_CONTENT = "This message was deleted"
_BOTS = (SenderType.agent_bot, SenderType.bot)

# Replies in provider-backed inboxes are sent by this job (nexa/channels/outbound.py). It is enqueued by
# kind name, inside create_message: conversations never import channels, and no code path that creates a
# reply (API, bot, campaign) can forget to deliver it. API and web widget inboxes reach their customer
# another way (the API inbox's webhook_url, the widget's socket).
DELIVERY_JOB = "channels.deliver"
# The built-in bot's turn for each customer message while it has the conversation (nexa/bot/runner.py),
# enqueued here for the same reason: every path that stores a customer message gets a bot answer.
BOT_TURN_JOB = "bot.handle_message"
_SELF_DELIVERED_CHANNELS = frozenset({ChannelType.api, ChannelType.web_widget})


def delivered_by_provider(inbox: Inbox) -> bool:
    return inbox.channel_type not in _SELF_DELIVERED_CHANNELS


@dataclass(frozen=True)
class Sender:
    type: SenderType | None = None
    id: int | None = None

    @classmethod
    def of(cls, actor: conversations.Actor) -> Sender:
        if actor.user_id is not None:
            return cls(SenderType.user, actor.user_id)
        if actor.agent_bot_id is not None:
            return cls(SenderType.agent_bot, actor.agent_bot_id)
        return cls()


@dataclass(frozen=True)
class NewAttachment:
    file_type: FileType
    external_url: str | None = None
    file_key: str | None = None
    content_type: str | None = None
    file_size: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ConversationRef:
    """What a message's event says about its conversation."""

    id: int
    display_id: int
    contact_inbox_id: int | None


@dataclass(slots=True)
class MessageRow:
    """A message read as a plain row (`select_message_rows`), for changes of its status and nothing else:
    receipts, two of every three webhooks of a conversation, and the delivery's records (`apply_status`,
    then `write_statuses`). An ORM object costs several times a row to load and to flush. The fields are
    what its event says, in the column order of the statement."""

    id: int
    account_id: int
    inbox_id: int
    message_type: MessageType
    content: str | None
    content_type: ContentType
    content_attributes: dict[str, Any]
    private: bool
    status: MessageStatus
    external_error: str | None
    source_id: str | None
    echo_id: str | None
    sender_type: SenderType | None
    sender_id: int | None
    created_at: datetime
    conversation: ConversationRef


def _emit(
    session: AsyncSession, name: EventName, message: Message | MessageRow, conversation: Conversation | ConversationRef
) -> None:
    """The one place message changes reach realtime subscribers (after commit)."""
    data = {
        "id": message.id,
        "conversation_id": conversation.display_id,
        "inbox_id": message.inbox_id,
        "message_type": MESSAGE_TYPE_NUMBER[message.message_type],
        "content": message.content,
        "content_type": message.content_type.value,
        "content_attributes": message.content_attributes,
        "private": message.private,
        "status": message.status.value,
        "source_id": message.source_id,
        "echo_id": message.echo_id,
        "sender_type": message.sender_type.value if message.sender_type else None,
        "sender_id": message.sender_id,
        "created_at": int(message.created_at.timestamp()),
    }
    channels = [account_channel(message.account_id), inbox_channel(message.inbox_id), conversation_channel(conversation.id)]
    if not message.private and message.message_type != MessageType.activity and conversation.contact_inbox_id:
        # The customer's widget: private notes and activity lines are for agents only.
        channels.append(contact_channel(conversation.contact_inbox_id))
    publish(session, Event(name, data, account_id=message.account_id, channels=channels))
    record_webhook_event(session, name, message.account_id, conversation_id=conversation.id, message_id=message.id)
    if message.message_type != MessageType.activity:
        # Rules do not react to activity lines (Chatwoot's ignore_message_created_event?): a rule's own
        # change would otherwise trigger a rule evaluation for the line it writes.
        record_automation_trigger(session, name, message.account_id, conversation.id, message_id=message.id)


def _initial_status(message_type: MessageType, private: bool) -> MessageStatus:
    # Customer-visible outgoing messages wait for the delivery job; everything else is final as stored.
    if message_type in (MessageType.outgoing, MessageType.template) and not private:
        return MessageStatus.pending
    return MessageStatus.sent


@dataclass(frozen=True)
class NewMessage:
    """A message to store in `conversation` (see `create_message` for what storing it does)."""

    conversation: Conversation
    inbox: Inbox
    message_type: MessageType
    content: str | None
    sender: Sender
    private: bool = False
    content_type: ContentType = ContentType.text
    content_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None
    source_id: str | None = None
    echo_id: str | None = None
    status: MessageStatus | None = None
    attachments: Sequence[NewAttachment] = ()


async def create_message(
    session: AsyncSession,
    conversation: Conversation,
    *,
    inbox: Inbox,
    message_type: MessageType,
    content: str | None,
    sender: Sender,
    private: bool = False,
    content_type: ContentType = ContentType.text,
    content_attributes: dict[str, Any] | None = None,
    additional_attributes: dict[str, Any] | None = None,
    source_id: str | None = None,
    echo_id: str | None = None,
    status: MessageStatus | None = None,
    attachments: Sequence[NewAttachment] = (),
) -> Message:
    """Store a message and apply its effects on the conversation.

    - every message but activity moves last_activity_at;
    - incoming: starts waiting_since, reopens a resolved or snoozed conversation (pending with a bot);
    - the first human non-private reply sets first_reply_created_at (first_response event); every human
      reply while the customer waits records reply_time and clears waiting_since;
    - private notes change none of that; bots may only speak to the customer while the conversation is pending;
    - a customer-visible reply in a provider inbox gets its delivery job, a customer message in a bot's
      conversation the bot's turn;
    - a private note by an agent notifies the members it mentions (nexa/notifications/service.py).
    """
    (message,) = await create_messages(session, [NewMessage(
        conversation, inbox, message_type, content, sender, private=private, content_type=content_type,
        content_attributes=content_attributes, additional_attributes=additional_attributes, source_id=source_id,
        echo_id=echo_id, status=status, attachments=attachments,
    )])
    return message


async def create_messages(session: AsyncSession, drafts: Sequence[NewMessage]) -> list[Message]:
    """`create_message` for many messages, in order: one INSERT for all their rows, one for their jobs.

    The inbound pipeline stores a batch of webhooks' messages with it; each message's effects apply in
    turn, so several messages of one conversation see each other's.
    """
    batch = MessageBatch(session)
    for draft in drafts:
        await batch.add(draft)
    return await batch.write()


class MessageBatch:
    """Messages created one at a time and written together: `add` checks a message and applies it to its
    conversation at once, in the caller's order (a bot reply is refused once its conversation left pending,
    not when the batch is written); `write` stores every message added so far with one INSERT, then their
    attachments, jobs and events. A bot chunk says all its turns' replies with one.

    Until `write`, the messages have no job and send no event: a transaction that would commit a message
    added and never written fails instead (a reply stored without its delivery would never reach the
    customer)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._added: list[tuple[NewMessage, Message]] = []

    async def add(self, draft: NewMessage) -> Message:
        if not self._added:
            event.listen(self.session.sync_session, "before_commit", self._require_written, once=True)
        message = _new_row(draft)
        self.session.add(message)
        self._added.append((draft, message))
        await _apply_to_conversation(self.session, draft, message)
        return message

    async def write(self) -> list[Message]:
        """Store the messages added since the last write; returns them in the order they were added."""
        added, self._added = self._added, []
        if not added:
            return []
        await self.session.flush()
        for draft, message in added:
            for attachment in draft.attachments:
                self.session.add(Attachment(account_id=message.account_id, message_id=message.id, **attachment.__dict__))
            _emit(self.session, EventName.MESSAGE_CREATED, message, draft.conversation)
            await notifications.mentioned(self.session, message, draft.conversation)
        await _enqueue_follow_up_jobs(self.session, added)
        await self.session.flush()
        return [message for _draft, message in added]

    def _require_written(self, _session: Session) -> None:
        if self._added:
            raise RuntimeError(f"{len(self._added)} message(s) added to a MessageBatch were never written")


def _new_row(draft: NewMessage) -> Message:
    conversation = draft.conversation
    private = draft.private and draft.message_type == MessageType.outgoing
    customer_visible = draft.message_type in (MessageType.outgoing, MessageType.template) and not private
    if customer_visible and draft.sender.type in _BOTS and conversation.status != ConversationStatus.pending:
        raise UnprocessableEntity(_("Bots can only reply to the customer while the conversation is pending"))
    return Message(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        message_type=draft.message_type,
        content=draft.content,
        content_type=draft.content_type,
        content_attributes=draft.content_attributes or {},
        additional_attributes=draft.additional_attributes or {},
        private=private,
        status=draft.status or _initial_status(draft.message_type, private),
        source_id=draft.source_id,
        echo_id=draft.echo_id,
        sender_type=draft.sender.type,
        sender_id=draft.sender.id,
        # Set here, not at flush: the conversation's times below are this message's time.
        created_at=utcnow(),
    )


async def _apply_to_conversation(session: AsyncSession, draft: NewMessage, message: Message) -> None:
    conversation, now = draft.conversation, message.created_at
    if message.message_type != MessageType.activity:
        conversation.last_activity_at = now
    if message.message_type == MessageType.incoming:
        await _on_customer_message(session, conversation, draft.inbox, now)
    elif message.message_type in (MessageType.outgoing, MessageType.template) and not message.private:
        await _on_reply(session, conversation, draft.inbox, draft.sender, now)


async def _enqueue_follow_up_jobs(session: AsyncSession, added: Sequence[tuple[NewMessage, Message]]) -> None:
    """The messages' delivery and bot turn jobs, one INSERT per kind without ORM objects: a batch of
    webhooks or a bot chunk writes one per message."""
    deliveries: list[NewJob] = []
    bot_turns: list[NewJob] = []
    for draft, message in added:
        conversation = draft.conversation
        if message.status == MessageStatus.pending and delivered_by_provider(draft.inbox):
            # One job per message; the conversation key sends a conversation's replies one at a time, in order.
            deliveries.append(NewJob(
                {"message_id": message.id}, account_id=message.account_id,
                concurrency_key=f"conversation:{conversation.id}", dedupe_key=f"deliver:{message.id}",
            ))
        if (message.message_type == MessageType.incoming and draft.inbox.bot_enabled
                and conversation.status == ConversationStatus.pending):
            bot_turns.append(NewJob(
                {"message_id": message.id}, account_id=message.account_id, concurrency_key=f"bot:{conversation.id}",
            ))
    await insert_jobs(session, DELIVERY_JOB, deliveries, queue="deliveries")
    await insert_jobs(session, BOT_TURN_JOB, bot_turns, queue="bot")


async def _on_customer_message(session: AsyncSession, conversation: Conversation, inbox: Inbox, now: Any) -> None:
    if conversation.waiting_since is None:
        conversation.waiting_since = now
    contact = await ContactRepository(session, conversation.account_id).get(conversation.contact_id)
    if contact is not None:  # usually in the identity map already: flushed with the message, no extra query
        contact.last_activity_at = now
    if conversation.status == ConversationStatus.resolved:
        await conversations.change_status(
            session, conversation, conversations.initial_status(inbox), actor=conversations.SYSTEM, inbox=inbox
        )
    elif conversation.status == ConversationStatus.snoozed:
        await conversations.change_status(
            session, conversation, ConversationStatus.open, actor=conversations.SYSTEM, inbox=inbox
        )


async def _on_reply(session: AsyncSession, conversation: Conversation, inbox: Inbox, sender: Sender, now: Any) -> None:
    if sender.type == SenderType.user:
        if conversation.first_reply_created_at is None:
            conversation.first_reply_created_at = now
            start = await analytics.last_non_human_activity(
                session, conversation.account_id, conversation.id, conversation.created_at
            )
            await analytics.record(
                session, ReportingEventName.first_response, account_id=conversation.account_id,
                conversation_id=conversation.id, inbox=inbox, start=start, end=now, user_id=sender.id,
            )
        if conversation.waiting_since is not None:
            await analytics.record(
                session, ReportingEventName.reply_time, account_id=conversation.account_id,
                conversation_id=conversation.id, inbox=inbox, start=conversation.waiting_since, end=now,
                user_id=sender.id,
            )
    conversation.waiting_since = None


async def delete_message(session: AsyncSession, message: Message, conversation: Conversation) -> Message:
    """Soft delete, as Chatwoot: the row stays (threads and reports keep their shape), the content goes."""
    message.content = DELETED_CONTENT
    message.content_attributes = {**message.content_attributes, "deleted": True}
    await session.flush()
    _emit(session, EventName.MESSAGE_UPDATED, message, conversation)
    return message


# Receipts only move forward: a late "delivered" never undoes "read". A failure counts unless the
# message already reached the customer, and only proof that it did (delivered, read) overrides a failure:
# providers may report "failed" before the "sent" of the same message.
_STATUS_RANK = {MessageStatus.pending: 0, MessageStatus.sent: 1, MessageStatus.delivered: 2, MessageStatus.read: 3}


def status_advances(current: MessageStatus, new: MessageStatus) -> bool:
    if current == MessageStatus.failed:
        return new in (MessageStatus.delivered, MessageStatus.read)
    if new == MessageStatus.failed:
        return _STATUS_RANK[current] < _STATUS_RANK[MessageStatus.delivered]
    return _STATUS_RANK[new] > _STATUS_RANK[current]


async def apply_status(
    session: AsyncSession,
    message: Message | MessageRow,
    conversation: Conversation | ConversationRef,
    status: MessageStatus,
    *,
    external_error: str | None = None,
    source_id: str | None = None,
) -> bool:
    """Move a message's delivery status forward (duplicates and stale receipts are no-ops); True if it moved.

    Not written here: an ORM message goes to the database with the next flush (a batch of receipts as one
    batched UPDATE), a `MessageRow` with `write_statuses`."""
    if source_id is not None:
        message.source_id = source_id
    if not status_advances(message.status, status):
        return False
    message.status = status
    message.external_error = external_error if status == MessageStatus.failed else None
    _emit(session, EventName.MESSAGE_UPDATED, message, conversation)
    return True


def select_message_rows() -> Select[Any]:
    """Messages with their conversations' ids, as `message_rows` reads them; the caller adds the WHERE."""
    columns = Message.__table__.c
    return select(
        *(columns[name] for name in _MESSAGE_ROW_COLUMNS), Conversation.id, Conversation.display_id,
        Conversation.contact_inbox_id,
    ).join(Conversation, Conversation.id == columns.conversation_id)


_MESSAGE_ROW_COLUMNS = tuple(f.name for f in fields(MessageRow) if f.name != "conversation")


def message_rows(result: Iterable[Row[Any]]) -> list[MessageRow]:
    return [MessageRow(*row[:-3], ConversationRef(*row[-3:])) for row in result]


async def write_statuses(session: AsyncSession, moved: Sequence[MessageRow]) -> None:
    """Store what `apply_status` changed on these rows (status, error, provider id), with one batched UPDATE.

    The rows were read without a lock, so the status is written only where it still moves the stored one
    forward: a receipt applied meanwhile by another transaction (a `read`) is never overwritten by one
    computed from the older read (a `delivered`)."""
    if not moved:
        return
    now = utcnow()
    await session.execute(_STATUS_UPDATE, [
        {"row_id": row.id, "p_status": row.status, "p_external_error": row.external_error, "source_id": row.source_id,
         "updated_at": now}
        for row in moved
    ])


def _forward_in_sql() -> ColumnElement[bool]:
    """`status_advances(stored, :p_status)` as SQL, from the same rule; the statuses are the enum's own
    constants, written into the statement so that a row binds only its own values."""
    stored = Message.__table__.c.status
    new = bindparam("p_status", type_=stored.type)
    return or_(*(
        and_(new == literal_column(f"'{status.value}'"),
             stored.in_([literal_column(f"'{current.value}'") for current in MessageStatus if status_advances(current, status)]))
        for status in MessageStatus
        if any(status_advances(current, status) for current in MessageStatus)
    ))


_STATUS_UPDATE = (
    update(Message.__table__)
    .where(Message.__table__.c.id == bindparam("row_id"))
    .values(
        status=case((_forward_in_sql(), bindparam("p_status", type_=Message.__table__.c.status.type)),
                    else_=Message.__table__.c.status),
        external_error=case((_forward_in_sql(), bindparam("p_external_error", type_=Text())),
                            else_=Message.__table__.c.external_error),
        source_id=bindparam("source_id"), updated_at=bindparam("updated_at"),
    )
)


async def attachments_changed(session: AsyncSession, message: Message, conversation: Conversation) -> None:
    """Tell subscribers a message's attachments changed (a media file was fetched, or could not be)."""
    _emit(session, EventName.MESSAGE_UPDATED, message, conversation)


async def edit_message(session: AsyncSession, message: Message, conversation: Conversation, content: str | None) -> Message:
    """The customer edited a message: the new text replaces the old, which is kept for the agents to see."""
    message.content_attributes = {
        **message.content_attributes, "edited": True, "previous_content": message.content,
    }
    message.content = content
    await session.flush()
    _emit(session, EventName.MESSAGE_UPDATED, message, conversation)
    return message
