from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime


class ChannelType(enum.StrEnum):
    whatsapp_cloud = "whatsapp_cloud"
    evolution = "evolution"
    telegram = "telegram"
    web_widget = "web_widget"
    api = "api"


class Inbox(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """A channel the account talks through, with its routing and greeting settings."""

    __tablename__ = "inboxes"

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    channel_type: Mapped[ChannelType] = mapped_column(
        Enum(ChannelType, native_enum=False, length=32), nullable=False
    )
    # Non-secret channel settings: phone_number_id, waba_id, base_url, instance, website_url, widget colors...
    channel_config: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # Secret name -> Fernet ciphertext (nexa.kit.crypto.Cipher). The names are readable, the values never leave.
    encrypted_credentials: Mapped[dict[str, str]] = mapped_column(JSONType, nullable=False, default=dict)
    # Random and public: identifies the inbox in webhook URLs and as the web widget's website_token.
    public_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    avatar_url: Mapped[str | None] = mapped_column(String(2048))

    greeting_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    greeting_message: Mapped[str | None] = mapped_column(Text)
    working_hours_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Chatwoot's shape: [{day_of_week 0=Sunday, open_hour, open_minutes, close_hour, close_minutes,
    # closed_all_day, open_all_day}]
    working_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="America/Sao_Paulo")
    out_of_office_message: Mapped[str | None] = mapped_column(Text)
    enable_auto_assignment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    max_assignment_limit: Mapped[int | None] = mapped_column(Integer)  # open conversations per agent
    bot_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    agent_bot_id: Mapped[int | None] = mapped_column(ForeignKey("agent_bots.id", ondelete="SET NULL"))
    lock_to_single_conversation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allow_messages_after_resolved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    # WhatsApp Cloud: the business account's message templates as Meta lists them (Chatwoot's
    # channel_whatsapp.message_templates), kept fresh by nexa.inboxes.jobs. None until the first sync.
    # Tens of KB that only the inbox's API shape and template sends read: deferred, so the message path
    # (webhooks, bot turns, deliveries) never loads them, and raising on a lazy load, so a new reader that
    # forgets to load them (InboxRepository.load_templates) fails in tests instead of adding a query.
    message_templates: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONType, deferred=True, deferred_raiseload=True
    )
    # The last successful sync.
    message_templates_last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the last sync failed, in plain words; None once a sync succeeds.
    message_templates_sync_error: Mapped[str | None] = mapped_column(Text)
    # When a sync last ran, successful or not: the periodic re-sync paces itself on it.
    message_templates_sync_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def has_active_bot(self) -> bool:
        """A bot handles new conversations first: they start (and reopen) as pending."""
        return self.bot_enabled or self.agent_bot_id is not None


class InboxMember(IdMixin, AccountScopedMixin, Base):
    __tablename__ = "inbox_members"
    __table_args__ = (UniqueConstraint("inbox_id", "user_id"),)

    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
