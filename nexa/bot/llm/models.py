"""An account's LLM connection and what it has spent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin

# The customer's own language: the reply follows whatever language the customer writes in.
CUSTOMER_LANGUAGE = "customer"


class LLMConfig(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """One per account: an OpenAI-compatible endpoint (OpenAI, Groq, Gemini, Ollama, vLLM) and how to use it."""

    __tablename__ = "bot_llm_configs"
    __table_args__ = (UniqueConstraint("account_id"),)

    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    base_url: Mapped[str] = mapped_column(String(2048), nullable=False, default="")
    model: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    # Fernet ciphertext (runtime.cipher); local servers such as Ollama need no key.
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    persona: Mapped[str] = mapped_column(Text, nullable=False, default="")
    instructions: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reply_language: Mapped[str] = mapped_column(String(16), nullable=False, default=CUSTOMER_LANGUAGE)
    max_history_messages: Mapped[int] = mapped_column(Integer, nullable=False, default=12)
    temperature: Mapped[float] = mapped_column(Float, nullable=False, default=0.3)
    timeout_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=15.0)
    daily_token_budget: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    breaker_failure_threshold: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    breaker_open_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=60)

    @property
    def is_usable(self) -> bool:
        return self.enabled and bool(self.base_url) and bool(self.model)


class LLMUsage(IdMixin, AccountScopedMixin, Base):
    """Tokens spent per account, conversation and UTC day (calls without a conversation, e.g. the
    settings page's test, have a NULL conversation)."""

    __tablename__ = "bot_llm_usage"
    __table_args__ = (
        # Also the index of the daily budget check, which sums one account's day.
        UniqueConstraint("account_id", "day", "conversation_id"),
        Index("ix_bot_llm_usage_conversation", "conversation_id"),
    )

    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, nullable=False)
    calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    total_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
