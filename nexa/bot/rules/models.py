from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime


class RuleKind(enum.StrEnum):
    keyword = "keyword"  # any of `keywords` appears as words in the message
    pattern = "pattern"  # `pattern` (a regex) matches, within a time limit
    greeting = "greeting"  # built-in lexicons in pt-BR, es and en
    thanks = "thanks"
    goodbye = "goodbye"


class RuleAction(enum.StrEnum):
    reply = "reply"  # send `reply`, then the bot goes on with qualification when `continue_flow`
    handoff = "handoff"  # send `reply` (if any) and hand the conversation to a human


class BusinessHours(enum.StrEnum):
    any = "any"
    open = "open"  # only inside the inbox's working hours
    closed = "closed"  # only outside them


class BotRule(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    __tablename__ = "bot_rules"
    __table_args__ = (Index("ix_bot_rules_account_priority", "account_id", "priority", "id"),)

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    kind: Mapped[RuleKind] = mapped_column(Enum(RuleKind, native_enum=False, length=16), nullable=False)
    keywords: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    pattern: Mapped[str | None] = mapped_column(String(1000))
    reply: Mapped[str | None] = mapped_column(Text)
    action: Mapped[RuleAction] = mapped_column(Enum(RuleAction, native_enum=False, length=16), nullable=False, default=RuleAction.reply)
    continue_flow: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=100)  # lower runs first
    inbox_ids: Mapped[list[int]] = mapped_column(JSONType, nullable=False, default=list)  # empty: every inbox
    business_hours: Mapped[BusinessHours] = mapped_column(
        Enum(BusinessHours, native_enum=False, length=16), nullable=False, default=BusinessHours.any
    )
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    usage_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
