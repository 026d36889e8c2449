from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin


class CannedResponse(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("account_id", "short_code"),)

    short_code: Mapped[str] = mapped_column(String(255), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
