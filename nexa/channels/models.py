from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.conversations.models import MessageStatus
from nexa.db.base import AccountScopedMixin, Base, IdMixin
from nexa.db.types import UTCDateTime
from nexa.kit.clock import utcnow


class EarlyReceipt(IdMixin, AccountScopedMixin, Base):
    """A delivery receipt that arrived before we knew the provider id of its message.

    The provider can answer the webhook faster than our send transaction commits the id it returned;
    such a receipt waits here and is applied the moment the id is stored (never dropped).
    """

    __tablename__ = "early_receipts"
    __table_args__ = (UniqueConstraint("inbox_id", "source_id", "status"),)

    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    source_id: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[MessageStatus] = mapped_column(Enum(MessageStatus, native_enum=False, length=16), nullable=False)
    external_error: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
