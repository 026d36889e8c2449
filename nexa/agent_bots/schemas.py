from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from nexa.kit.params import WrappedParams


class AgentBotCreate(WrappedParams):
    wrapper = "agent_bot"

    name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    outgoing_url: str | None = Field(default=None, max_length=2048)
    bot_type: str = Field(default="webhook", pattern="^webhook$")
    bot_config: dict[str, Any] | None = None
    avatar_url: str | None = Field(default=None, max_length=2048)


class AgentBotUpdate(WrappedParams):
    wrapper = "agent_bot"

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    outgoing_url: str | None = Field(default=None, max_length=2048)
    bot_config: dict[str, Any] | None = None
    avatar_url: str | None = Field(default=None, max_length=2048)


class AgentBotOut(BaseModel):
    id: int
    name: str
    description: str | None
    thumbnail: str
    outgoing_url: str | None
    bot_type: str
    bot_config: dict[str, Any]
    account_id: int
    system_bot: bool = False
    secret: str | None = Field(default=None, description="Signs what Nexa posts to outgoing_url (administrators)")
    access_token: str | None = Field(
        default=None, description="The bot's API token: only in the create and reset_access_token responses"
    )


class SetAgentBot(WrappedParams):
    wrapper = "inbox"

    agent_bot: int | None = Field(description="The bot's id, or null to remove the inbox's bot")


class InboxAgentBot(BaseModel):
    agent_bot: AgentBotOut | None
