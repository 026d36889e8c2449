from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import BigInteger, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType


class AccountStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False, default="pt-BR")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="America/Sao_Paulo")
    status: Mapped[AccountStatus] = mapped_column(
        Enum(AccountStatus, native_enum=False, length=16), nullable=False, default=AccountStatus.active
    )
    plan: Mapped[str] = mapped_column(String(32), nullable=False, default="free")
    # Overrides of the plan's limits, e.g. {"inboxes": 10, "agents": 25}.
    limits: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # White-label brand: product_name, logo_url, favicon_url, primary_color, accent_color.
    branding: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    support_email: Mapped[str | None] = mapped_column(String(255))
    custom_domain: Mapped[str | None] = mapped_column(String(255), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # Per-account conversation number: incremented with a row lock, so display ids never collide.
    last_conversation_display_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.active
