from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime


class BotSettings(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """One row per account that changed anything; accounts without one use the defaults
    (nexa.bot.qualification.DEFAULT_CONFIG)."""

    __tablename__ = "bot_settings"
    __table_args__ = (UniqueConstraint("account_id"),)

    # The qualification config as validated by nexa.bot.schemas.BotConfig (fields, scoring, threshold...).
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # Bumped on every change to the account's rules: each process's compiled rules cache checks it.
    rules_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class BotConversation(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """The bot's durable state in one conversation: what it asked, what it learned, how often it failed."""

    __tablename__ = "bot_conversations"
    __table_args__ = (UniqueConstraint("conversation_id"),)

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    language: Mapped[str | None] = mapped_column(String(8))
    pending_field: Mapped[str | None] = mapped_column(String(64))  # the question waiting for an answer
    invalid_answers: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    unanswered_questions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # knowledge misses
    follow_ups_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_customer_message_id: Mapped[int | None] = mapped_column(Integer)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the latest handoff happened (nexa.bot.handoff.HandoffReason): the agent a qualified lead goes to
    # is told so (nexa/notifications/service.py).
    handoff_reason: Mapped[str | None] = mapped_column(String(32))


class AssignmentCursor(IdMixin, AccountScopedMixin, Base):
    """Round robin's memory per inbox, or per team for conversations routed to a team (exactly one of
    inbox_id and team_id is set): the agent who got the last conversation."""

    __tablename__ = "bot_assignment_cursors"
    __table_args__ = (UniqueConstraint("inbox_id"), UniqueConstraint("team_id"))

    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    last_user_id: Mapped[int | None] = mapped_column(Integer)
