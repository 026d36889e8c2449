from __future__ import annotations

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin

DEFAULT_LABEL_COLOR = "#1f93ff"


class Label(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """A label definition. Contacts and conversations are tagged by title (see TaggingMixin), as in Chatwoot."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("account_id", "title"),)

    title: Mapped[str] = mapped_column(String(255), nullable=False)  # always lower-case
    description: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(16), nullable=False, default=DEFAULT_LABEL_COLOR)
    show_on_sidebar: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class TaggingMixin(AccountScopedMixin):
    """A join row: one label title on one tagged row. Subclasses add the owner column named by `owner_key`."""

    title: Mapped[str] = mapped_column(String(255), nullable=False)
