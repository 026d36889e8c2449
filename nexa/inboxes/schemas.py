from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, field_validator, model_validator

from nexa.inboxes.models import ChannelType
from nexa.kit.params import WrappedParams, unwrap
from nexa.teams.agents import AgentOut

# Keys of a Chatwoot-style `channel` object that are secrets: stored encrypted, never returned.
SECRET_KEYS = frozenset(
    {"access_token", "app_secret", "verify_token", "webhook_verify_token", "apikey", "api_key", "bot_token",
     "hmac_token", "secret", "webhook_secret", "jwt_key"}
)
# Chatwoot's `channel.type` values for the channels Nexa has.
_CHATWOOT_CHANNEL_TYPES = {
    "whatsapp": ChannelType.whatsapp_cloud,
    "api": ChannelType.api,
    "web_widget": ChannelType.web_widget,
    "telegram": ChannelType.telegram,
    "evolution": ChannelType.evolution,
}
# Chatwoot's `channel.provider` for `type: "whatsapp"`: which service carries the number.
_WHATSAPP_PROVIDERS = {"whatsapp_cloud": ChannelType.whatsapp_cloud, "evolution": ChannelType.evolution}


class WorkingHoursDay(BaseModel):
    """Chatwoot's working-hours row; day_of_week 0 is Sunday."""

    day_of_week: int = Field(ge=0, le=6)
    closed_all_day: bool = False
    open_all_day: bool = False
    open_hour: int | None = Field(default=None, ge=0, le=23)
    open_minutes: int | None = Field(default=None, ge=0, le=59)
    close_hour: int | None = Field(default=None, ge=0, le=24)
    close_minutes: int | None = Field(default=None, ge=0, le=59)


class InboxSettings(WrappedParams):
    """Fields an admin may set on create and change later; all optional so PATCH sends only what changes."""

    wrapper = "inbox"

    name: str | None = Field(default=None, min_length=1, max_length=255)
    avatar_url: str | None = Field(default=None, max_length=2048)
    channel_config: dict[str, Any] | None = None
    credentials: dict[str, str | None] | None = Field(
        default=None, description="Secrets by name; stored encrypted and never returned. A null value removes one."
    )
    greeting_enabled: bool | None = None
    greeting_message: str | None = None
    working_hours_enabled: bool | None = None
    working_hours: list[WorkingHoursDay] | None = None
    timezone: str | None = None
    out_of_office_message: str | None = None
    enable_auto_assignment: bool | None = None
    max_assignment_limit: int | None = Field(default=None, ge=1)
    bot_enabled: bool | None = None
    agent_bot_id: int | None = None
    lock_to_single_conversation: bool | None = None
    allow_messages_after_resolved: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _chatwoot_fields(cls, data: Any) -> Any:
        """Chatwoot's `channel:{type, ...}` and `auto_assignment_config` map onto Nexa's flat fields."""
        data = unwrap(data, cls.wrapper)  # validator order across the class hierarchy is not ours to rely on
        if not isinstance(data, dict):
            return data
        data = dict(data)
        channel = data.pop("channel", None)
        if isinstance(channel, dict):
            channel = dict(channel)
            kind = channel.pop("type", None)
            provider = channel.pop("provider", None)
            # Chatwoot nests a provider's settings (ids, keys, URLs) under provider_config.
            provider_config = channel.pop("provider_config", None)
            if isinstance(provider_config, dict):
                channel.update(provider_config)
            if kind is not None:
                channel_type = _CHATWOOT_CHANNEL_TYPES.get(kind, kind)
                if kind == "whatsapp" and provider is not None:
                    channel_type = _WHATSAPP_PROVIDERS.get(provider, provider)
                data.setdefault("channel_type", channel_type)
            data["channel_config"] = {
                **{k: v for k, v in channel.items() if k not in SECRET_KEYS}, **(data.get("channel_config") or {})
            }
            data["credentials"] = {
                **{k: v for k, v in channel.items() if k in SECRET_KEYS}, **(data.get("credentials") or {})
            }
        assignment = data.pop("auto_assignment_config", None)
        if isinstance(assignment, dict) and "max_assignment_limit" in assignment:
            data.setdefault("max_assignment_limit", assignment["max_assignment_limit"])
        return data

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError("must be an IANA time zone such as America/Sao_Paulo")
        return value


class InboxCreate(InboxSettings):
    name: str = Field(min_length=1, max_length=255)
    channel_type: ChannelType


class InboxUpdate(InboxSettings):
    pass


class InboxOut(BaseModel):
    id: int
    account_id: int
    name: str
    avatar_url: str
    channel_id: int
    channel_type: str = Field(description="Chatwoot's channel class, e.g. Channel::Whatsapp")
    provider: str = Field(description="Nexa's channel: whatsapp_cloud, evolution, telegram, web_widget or api")
    channel_config: dict[str, Any]
    credentials_set: list[str] = Field(description="Names of the stored secrets; their values are never returned")
    inbox_identifier: str
    website_token: str | None
    webhook_url: str | None
    callback_webhook_url: str | None = Field(
        description="Absolute URL to give the provider (Meta's callback URL); null for channels without webhooks"
    )
    greeting_enabled: bool
    greeting_message: str | None
    working_hours_enabled: bool
    working_hours: list[dict[str, Any]]
    timezone: str
    out_of_office_message: str | None
    enable_auto_assignment: bool
    auto_assignment_config: dict[str, Any]
    max_assignment_limit: int | None
    bot_enabled: bool
    agent_bot_id: int | None
    lock_to_single_conversation: bool
    allow_messages_after_resolved: bool
    message_templates: list[dict[str, Any]] = Field(
        description="WhatsApp Cloud: the business account's templates as Meta lists them (every status), synced "
        "from Meta; empty for other channels"
    )
    message_templates_last_updated: datetime | None = Field(description="When the templates were last synced")
    message_templates_sync_error: str | None = Field(
        description="Why the last template sync failed, in plain words; null when it succeeded"
    )


class InboxList(BaseModel):
    payload: list[InboxOut]


class InboxSummary(BaseModel):
    """The short inbox in contact_inboxes (Chatwoot's shape)."""

    id: int
    avatar_url: str
    channel_id: int
    name: str
    channel_type: str
    provider: str


class TemplateSync(BaseModel):
    message: str = Field(description="The sync was queued; the inbox shows its outcome once it ran")


class WebhookSetup(BaseModel):
    callback_webhook_url: str = Field(description="The URL the provider now posts this inbox's events to")


class InboxMembersChange(BaseModel):
    inbox_id: int
    user_ids: list[int] = Field(default_factory=list)


class AgentList(BaseModel):
    payload: list[AgentOut]
