from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nexa.auth.models import User
from nexa.contacts.models import Contact, ContactInbox
from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime
from nexa.inboxes.models import Inbox
from nexa.kit.clock import utcnow
from nexa.labels.models import TaggingMixin
from nexa.teams.models import Team


class ConversationStatus(enum.StrEnum):
    open = "open"  # humans: in the queue (unassigned) or in service (assigned)
    resolved = "resolved"
    pending = "pending"  # the bot is handling it
    snoozed = "snoozed"


class Priority(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


# Chatwoot's enum integers, used to sort by priority (urgent last ascending, as in Chatwoot).
PRIORITY_RANK = {Priority.low: 0, Priority.medium: 1, Priority.high: 2, Priority.urgent: 3}


class Conversation(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "display_id"),
        # The agent inbox list: status tab + recency, my/unassigned counts, per-inbox views.
        Index("ix_conversations_account_status_activity", "account_id", "status", "last_activity_at"),
        Index("ix_conversations_account_assignee_status", "account_id", "assignee_id", "status"),
        Index("ix_conversations_inbox_status_activity", "inbox_id", "status", "last_activity_at"),
        Index("ix_conversations_contact", "contact_id", "id"),
        Index("ix_conversations_contact_inbox", "contact_inbox_id", "id"),
        Index("ix_conversations_account_created", "account_id", "created_at"),  # reports
    )

    display_id: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the id in every URL and payload
    uuid: Mapped[str] = mapped_column(String(36), nullable=False, unique=True, default=lambda: str(uuid.uuid4()))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    contact_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("contact_inboxes.id", ondelete="SET NULL"))
    status: Mapped[ConversationStatus] = mapped_column(
        Enum(ConversationStatus, native_enum=False, length=16), nullable=False, default=ConversationStatus.open
    )
    priority: Mapped[Priority | None] = mapped_column(Enum(Priority, native_enum=False, length=16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_agent_bot_id: Mapped[int | None] = mapped_column(ForeignKey("agent_bots.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    additional_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_reply_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    muted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    inbox: Mapped[Inbox] = relationship(lazy="raise")
    contact: Mapped[Contact] = relationship(lazy="raise")
    contact_inbox: Mapped[ContactInbox | None] = relationship(lazy="raise")
    assignee: Mapped[User | None] = relationship(lazy="raise")
    team: Mapped[Team | None] = relationship(lazy="raise")


class ConversationLabel(IdMixin, TaggingMixin, Base):
    __tablename__ = "conversation_labels"
    __table_args__ = (
        UniqueConstraint("conversation_id", "title"),
        Index("ix_conversation_labels_account_title", "account_id", "title", "conversation_id"),
    )

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)


class ConversationParticipant(IdMixin, AccountScopedMixin, Base):
    """An agent following a conversation they are not assigned to (Chatwoot's participants)."""

    __tablename__ = "conversation_participants"
    __table_args__ = (UniqueConstraint("conversation_id", "user_id"),)

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)


class MessageType(enum.StrEnum):
    incoming = "incoming"
    outgoing = "outgoing"
    activity = "activity"
    template = "template"


# Chatwoot's integers for message_type in REST and realtime payloads.
MESSAGE_TYPE_NUMBER = {MessageType.incoming: 0, MessageType.outgoing: 1, MessageType.activity: 2, MessageType.template: 3}


class MessageStatus(enum.StrEnum):
    pending = "pending"  # Nexa only: stored, not yet accepted by the channel
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class ContentType(enum.StrEnum):
    text = "text"
    input_text = "input_text"
    input_textarea = "input_textarea"
    input_email = "input_email"
    input_select = "input_select"
    cards = "cards"
    form = "form"
    article = "article"
    incoming_email = "incoming_email"
    input_csat = "input_csat"
    integrations = "integrations"
    sticker = "sticker"
    voice_call = "voice_call"


class SenderType(enum.StrEnum):
    contact = "contact"
    user = "user"
    agent_bot = "agent_bot"
    bot = "bot"  # Nexa's built-in bot


class Message(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Provider retries are deduplicated here (NULLs, i.e. messages without a provider id, never collide).
        UniqueConstraint("inbox_id", "source_id"),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        # Reports count a type of message over a time window: equality columns first, then the range, so the
        # count is an index-only scan. A trigram index on lower(content) serves search on PostgreSQL (0004).
        Index("ix_messages_account_type_created", "account_id", "message_type", "private", "created_at"),
    )

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    message_type: Mapped[MessageType] = mapped_column(Enum(MessageType, native_enum=False, length=16), nullable=False)
    content: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[ContentType] = mapped_column(
        Enum(ContentType, native_enum=False, length=32), nullable=False, default=ContentType.text
    )
    content_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    additional_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    private: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[MessageStatus] = mapped_column(
        Enum(MessageStatus, native_enum=False, length=16), nullable=False, default=MessageStatus.sent
    )
    external_error: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(String(255))
    sender_type: Mapped[SenderType | None] = mapped_column(Enum(SenderType, native_enum=False, length=16))
    sender_id: Mapped[int | None] = mapped_column(BigInteger)
    echo_id: Mapped[str | None] = mapped_column(String(255))

    attachments: Mapped[list[Attachment]] = relationship(lazy="raise", order_by="Attachment.id", passive_deletes=True)


class FileType(enum.StrEnum):
    image = "image"
    audio = "audio"
    video = "video"
    file = "file"
    location = "location"
    fallback = "fallback"
    contact = "contact"
    sticker = "sticker"


class Attachment(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    __tablename__ = "attachments"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True)
    file_type: Mapped[FileType] = mapped_column(Enum(FileType, native_enum=False, length=16), nullable=False)
    external_url: Mapped[str | None] = mapped_column(String(2048))
    file_key: Mapped[str | None] = mapped_column(String(1024))  # storage path of a file we hold
    content_type: Mapped[str | None] = mapped_column(String(255))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    # Coordinates of a location, vCards of a contact, provider media ids, dimensions...
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
