from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from nexa.auth.models import Availability, Role
from nexa.kit.params import WrappedParams


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class WebSession(BaseModel):
    csrf_token: str
    expires_at: datetime


class ProfileAccount(BaseModel):
    id: int
    name: str
    status: str
    role: str
    availability: str
    availability_status: str
    auto_offline: bool
    active_at: datetime | None
    locale: str
    timezone: str


class Profile(BaseModel):
    """Chatwoot's profile shape (`/api/v1/profile`), which SDKs and n8n read."""

    id: int
    uid: str
    name: str
    display_name: str | None
    available_name: str
    email: str
    avatar_url: str
    thumbnail: str
    access_token: str | None
    pubsub_token: str
    account_id: int | None
    role: str | None
    availability_status: str | None
    confirmed: bool
    provider: str
    type: str
    locale: str | None
    message_signature: str | None
    ui_settings: dict
    custom_attributes: dict
    accounts: list[ProfileAccount]


class ProfileUpdate(WrappedParams):
    """PUT /api/v1/profile: Chatwoot sends it wrapped in `profile`; both forms are accepted."""

    wrapper: ClassVar[str] = "profile"

    name: str | None = Field(default=None, min_length=1, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    locale: str | None = None
    message_signature: str | None = Field(default=None, max_length=1024)
    ui_settings: dict | None = None
    availability: Availability | None = None
    account_id: int | None = Field(default=None, description="The account whose availability changes")
    current_password: str | None = None
    password: str | None = Field(default=None, max_length=1024)
    password_confirmation: str | None = None


class AuditEventOut(BaseModel):
    id: int
    action: str
    actor_user_id: int | None
    target_type: str | None
    target_id: int | None
    ip: str | None
    user_agent: str | None
    details: dict
    created_at: datetime


class AuditLogPage(BaseModel):
    payload: list[AuditEventOut]
    meta: dict


class AgentCreate(WrappedParams):
    """POST /agents, flat or wrapped in `agent` (Chatwoot)."""

    wrapper: ClassVar[str] = "agent"

    name: str = Field(default="", max_length=255)
    email: str = Field(min_length=3, max_length=255)
    role: Role = Role.agent
    availability: Availability | None = None
    auto_offline: bool | None = None


class AgentUpdate(WrappedParams):
    wrapper: ClassVar[str] = "agent"

    name: str | None = Field(default=None, max_length=255)
    role: Role | None = None
    availability: Availability | None = None
    auto_offline: bool | None = None


class AgentBulkCreate(BaseModel):
    emails: list[str] = Field(min_length=1, max_length=100)


class InvitationAccept(BaseModel):
    password: str = Field(min_length=1, max_length=1024)
    password_confirmation: str | None = None


class InvitationAccepted(BaseModel):
    id: int
    email: str
    name: str


class AccessTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255, description="What the token is for, e.g. n8n")
    scopes: list[str] | None = Field(
        default=None, description="e.g. [\"conversations:write\"]; omitted means everything its creator may do"
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="Omitted: never expires")


class AccessTokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The token's public start, to recognize it; the rest is never shown again")
    scopes: list[str] | None
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class AccessTokenCreated(AccessTokenOut):
    token: str = Field(description="The token itself, shown only in this response")


class AccessTokenList(BaseModel):
    payload: list[AccessTokenOut]
