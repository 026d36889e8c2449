from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Float, Index
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin
from nexa.db.types import UTCDateTime
from nexa.kit.clock import utcnow


class ReportingEventName(enum.StrEnum):
    conversation_opened = "conversation_opened"
    conversation_resolved = "conversation_resolved"
    first_response = "first_response"
    reply_time = "reply_time"
    conversation_bot_handoff = "conversation_bot_handoff"
    conversation_bot_resolved = "conversation_bot_resolved"


class ReportingEvent(IdMixin, AccountScopedMixin, Base):
    """One measured moment (Chatwoot's reporting_events): reports aggregate these, never live tables.

    Ids of conversations, inboxes and users are plain columns, not foreign keys: history outlives deletions.
    """

    __tablename__ = "reporting_events"
    __table_args__ = (
        Index("ix_reporting_events_account_name_created", "account_id", "name", "created_at"),
        Index("ix_reporting_events_conversation", "conversation_id", "name"),
    )

    name: Mapped[ReportingEventName] = mapped_column(
        Enum(ReportingEventName, native_enum=False, length=48), nullable=False
    )
    value: Mapped[float] = mapped_column(Float, nullable=False)  # seconds
    value_in_business_hours: Mapped[float | None] = mapped_column(Float)
    inbox_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    event_start_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
