from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType


class AutomationRule(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """When `event_name` happens and `conditions` hold (Chatwoot's filter language), run `actions`."""

    __tablename__ = "automation_rules"
    __table_args__ = (Index("ix_automation_rules_account_event", "account_id", "event_name", "active"),)

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    event_name: Mapped[str] = mapped_column(String(32), nullable=False)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
