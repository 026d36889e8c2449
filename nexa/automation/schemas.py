from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, HttpUrl

from nexa.kit.filters import FilterCondition
from nexa.kit.params import WrappedParams

EventName = Literal[
    "conversation_created", "conversation_updated", "conversation_opened", "conversation_resolved", "message_created"
]
ActionName = Literal[
    "send_message", "add_label", "assign_agent", "assign_team", "change_status", "change_priority",
    "add_private_note", "send_webhook_event",
]


class Action(BaseModel):
    action_name: ActionName
    action_params: list[Any] = Field(default_factory=list, max_length=50)


class RuleFields(WrappedParams):
    wrapper: ClassVar[str] = "automation_rule"

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    event_name: EventName
    conditions: list[FilterCondition] = Field(min_length=1, max_length=50)
    actions: list[Action] = Field(min_length=1, max_length=50)
    active: bool = True


class RuleUpdate(WrappedParams):
    wrapper: ClassVar[str] = "automation_rule"

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    event_name: EventName | None = None
    conditions: list[FilterCondition] | None = Field(default=None, min_length=1, max_length=50)
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None


class RuleOut(BaseModel):
    id: int
    account_id: int
    name: str
    description: str | None
    event_name: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    created_on: int
    active: bool


class RulePayload(BaseModel):
    payload: RuleOut


class RuleList(BaseModel):
    payload: list[RuleOut]


class WebhookTarget(BaseModel):
    url: HttpUrl
