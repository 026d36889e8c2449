from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType


class AgentBot(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """An external bot (Chatwoot's AgentBot): receives events at outgoing_url, acts with its own token."""

    __tablename__ = "agent_bots"

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    outgoing_url: Mapped[str | None] = mapped_column(String(2048))
    bot_type: Mapped[str] = mapped_column(String(32), nullable=False, default="webhook")
    bot_config: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    # Signs what Nexa sends to outgoing_url (Fernet ciphertext, nexa.kit.crypto.Cipher).
    encrypted_secret: Mapped[str | None] = mapped_column(String(512))
