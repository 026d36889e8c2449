from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime
from nexa.inboxes.models import Inbox
from nexa.labels.models import TaggingMixin


class LeadStatus(enum.StrEnum):
    new = "new"
    qualified = "qualified"
    in_service = "in_service"
    converted = "converted"
    lost = "lost"


class Contact(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("account_id", "email"),
        UniqueConstraint("account_id", "identifier"),
        # Unique: one person per phone even when two channels race to create them (BR 9th digit folded in).
        UniqueConstraint("account_id", "phone_key"),
        Index("ix_contacts_account_last_activity", "account_id", "last_activity_at"),
    )

    name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(String(255))  # lower-case
    phone_number: Mapped[str | None] = mapped_column(String(32))  # E.164 as received
    phone_key: Mapped[str | None] = mapped_column(String(32))  # nexa.kit.phone.match_key(phone_number)
    identifier: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    blocked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    additional_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lead_status: Mapped[LeadStatus] = mapped_column(
        Enum(LeadStatus, native_enum=False, length=16), nullable=False, default=LeadStatus.new
    )
    lead_score: Mapped[int | None] = mapped_column(Integer)  # 1-10
    lead_score_reasons: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact_inboxes: Mapped[list[ContactInbox]] = relationship(
        back_populates="contact", lazy="raise", passive_deletes=True
    )


class ContactInbox(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """A contact as seen by one inbox: `source_id` is their address there (wa_id, Telegram chat id...)."""

    __tablename__ = "contact_inboxes"
    __table_args__ = (UniqueConstraint("inbox_id", "source_id"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    source_id: Mapped[str] = mapped_column(String(255), nullable=False)
    pubsub_token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    contact: Mapped[Contact] = relationship(back_populates="contact_inboxes", lazy="raise")
    inbox: Mapped[Inbox] = relationship(lazy="raise")


class ContactLabel(IdMixin, TaggingMixin, Base):
    __tablename__ = "contact_labels"
    __table_args__ = (
        UniqueConstraint("contact_id", "title"),
        Index("ix_contact_labels_account_title", "account_id", "title"),
    )

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)


class ContactNote(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """An agent's note on a contact (Chatwoot's contact notes)."""

    __tablename__ = "contact_notes"
    __table_args__ = (Index("ix_contact_notes_contact", "contact_id", "id"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    content: Mapped[str] = mapped_column(Text, nullable=False)
