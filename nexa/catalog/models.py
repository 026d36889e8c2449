from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import Enum, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin


class ItemKind(enum.StrEnum):
    product = "product"
    service = "service"


class Availability(enum.StrEnum):
    available = "available"
    unavailable = "unavailable"
    on_request = "on_request"


class CatalogItem(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """A product or service the business sells; indexed into the knowledge search as one passage."""

    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("account_id", "sku"),)

    kind: Mapped[ItemKind] = mapped_column(Enum(ItemKind, native_enum=False, length=16), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="BRL")
    sku: Mapped[str | None] = mapped_column(String(64))
    availability: Mapped[Availability] = mapped_column(
        Enum(Availability, native_enum=False, length=16), nullable=False, default=Availability.available
    )
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
