"""Outgoing webhooks, Polar's model: where to send (endpoint), what happened (event), each send (delivery).

Account webhooks are rows of `webhooks`; API inboxes (`channel_config.webhook_url`) and agent bots
(`outgoing_url`) are targets too, so a delivery names its target by kind and id.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime
from nexa.kit.clock import utcnow


class WebhookEndpoint(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """An account webhook (Chatwoot's Webhook): a URL and the events it subscribes to."""

    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("account_id", "url"),)

    name: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    # Only this inbox's events when set (Chatwoot's inbox_type webhook).
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    subscriptions: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    encrypted_secret: Mapped[str] = mapped_column(String(512), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Failed attempts in a row, whatever the delivery: a success resets it.
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class TargetKind(enum.StrEnum):
    webhook = "webhook"
    api_inbox = "api_inbox"
    agent_bot = "agent_bot"


class DeliveryState(enum.StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookEvent(IdMixin, AccountScopedMixin, Base):
    """One event as it was sent: the JSON body is built once, so every retry signs and sends the same bytes."""

    __tablename__ = "webhook_events"

    name: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # Plain ids, no foreign keys: the delivery log outlives the conversation it talks about.
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WebhookDelivery(IdMixin, AccountScopedMixin, Base):
    """Sending one event to one target, with the outcome of its latest attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The delivery log of one target, newest first.
        Index("ix_webhook_deliveries_target", "target_kind", "target_id", "id"),
    )

    # X-Chatwoot-Delivery: the same for every attempt and for a manual redelivery.
    uuid: Mapped[str] = mapped_column(String(36), nullable=False, unique=True, default=lambda: str(uuid.uuid4()))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False, index=True)
    target_kind: Mapped[TargetKind] = mapped_column(Enum(TargetKind, native_enum=False, length=16), nullable=False)
    target_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, native_enum=False, length=16), nullable=False, default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
