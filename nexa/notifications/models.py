from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import UTCDateTime


class NotificationType(enum.StrEnum):
    """Chatwoot's names, plus Nexa's own for the lead the bot qualified and handed to the agent."""

    conversation_assignment = "conversation_assignment"
    conversation_mention = "conversation_mention"
    qualified_lead_handoff = "qualified_lead_handoff"


class ActorType(enum.StrEnum):
    """Who caused a notification (Chatwoot's polymorphic secondary actor): a member or an agent bot."""

    user = "User"
    agent_bot = "AgentBot"


class Notification(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """Something one member of an account should see: stored, so it waits for them while they are away.

    The primary actor is the conversation (and, for a mention, the private note that mentions them); the
    secondary actor who caused it, or none when the system did (auto-assignment)."""

    __tablename__ = "notifications"
    # The bell reads one user's newest notifications of one account and counts the unread ones.
    __table_args__ = (Index("ix_notifications_account_user_id", "account_id", "user_id", "id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    notification_type: Mapped[NotificationType] = mapped_column(
        Enum(NotificationType, native_enum=False, length=32), nullable=False
    )
    # Indexed for the cascades: deleting a conversation (and its messages) must not scan this table.
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    secondary_actor_type: Mapped[ActorType | None] = mapped_column(
        Enum(ActorType, native_enum=False, length=16)
    )
    secondary_actor_id: Mapped[int | None] = mapped_column(BigInteger)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
