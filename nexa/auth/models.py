from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nexa.db.base import Base, IdMixin, TimestampMixin
from nexa.db.types import JSONType, UTCDateTime
from nexa.kit.clock import utcnow
from nexa.tenancy.models import Account


class Role(enum.StrEnum):
    owner = "owner"
    administrator = "administrator"
    agent = "agent"

    @property
    def is_admin(self) -> bool:
        return self in (Role.owner, Role.administrator)


class Availability(enum.StrEnum):
    online = "online"
    busy = "busy"
    offline = "offline"


class TokenOwner(enum.StrEnum):
    user = "user"
    agent_bot = "agent_bot"


class SessionKind(enum.StrEnum):
    api = "api"  # access + refresh tokens from /auth/login
    web = "web"  # HTTP-only cookie of the web UI


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    ui_settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    message_signature: Mapped[str | None] = mapped_column(String(1024))
    pubsub_token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[AccountUser]] = relationship(
        back_populates="user", lazy="raise", foreign_keys="AccountUser.user_id"
    )

    @property
    def available_name(self) -> str:
        return self.display_name or self.name


class AccountUser(IdMixin, TimestampMixin, Base):
    """A user's membership of an account: role and availability are per account, as in Chatwoot."""

    __tablename__ = "account_users"
    __table_args__ = (UniqueConstraint("account_id", "user_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16), nullable=False, default=Role.agent)
    availability: Mapped[Availability] = mapped_column(
        Enum(Availability, native_enum=False, length=16), nullable=False, default=Availability.offline
    )
    auto_offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], back_populates="memberships", lazy="raise")
    account: Mapped[Account] = relationship(lazy="raise")


class AccessToken(IdMixin, Base):
    """An API token. Only its SHA-256 is stored; `lookup_id` finds the row without scanning hashes.

    A user's personal token (the one Chatwoot's profile returns) also keeps an encrypted copy so its owner
    can read it again, as Chatwoot clients expect; tokens created by `nexa tokens create` are shown once.
    """

    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_owner", "owner_type", "owner_id"),)

    owner_type: Mapped[TokenOwner] = mapped_column(Enum(TokenOwner, native_enum=False, length=16), nullable=False)
    owner_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="default")
    lookup_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    encrypted_token: Mapped[str | None] = mapped_column(String(512))
    is_personal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # None means every scope the owner has; otherwise e.g. ["conversations:write", "contacts:read"].
    scopes: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthSession(IdMixin, Base):
    """A login: the refresh token of an API login or the cookie of a web login, stored hashed.

    Refresh tokens rotate; presenting an already-rotated one revokes the whole family (token theft).
    """

    __tablename__ = "auth_sessions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[SessionKind] = mapped_column(Enum(SessionKind, native_enum=False, length=8), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    family_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class AuditEvent(IdMixin, Base):
    """Security-relevant actions, readable by account admins (logins, tokens, roles, suspensions)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_account_created", "account_id", "created_at"),)

    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Invitation(IdMixin, Base):
    """A single-use link for an invited user to set their password; only the token's SHA-256 is stored."""

    __tablename__ = "invitations"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
