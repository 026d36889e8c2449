"""Chatwoot's notification JSON (`notifications/index.json.jbuilder`, `Notification#push_event_data`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nexa.conversations.schemas import SenderOut


class PrimaryActorMeta(BaseModel):
    sender: SenderOut | None = Field(description="The conversation's contact")


class PrimaryActorOut(BaseModel):
    """The conversation, as much of it as a notification list shows."""

    id: int = Field(description="The conversation's per-account display_id")
    inbox_id: int
    status: str
    meta: PrimaryActorMeta


class NotificationOut(BaseModel):
    id: int
    notification_type: str
    push_message_title: str = Field(description="The notification as one line, in the account's language")
    primary_actor_type: Literal["Conversation"] = "Conversation"
    primary_actor_id: int = Field(description="The conversation's display_id (Chatwoot sends its row id)")
    primary_actor: PrimaryActorOut
    message_id: int | None = Field(description="The private note that mentions the user (mentions only)")
    read_at: str | None = Field(description="ISO 8601, null while unread")
    secondary_actor: SenderOut | None = Field(
        description="Who caused it: a member or an agent bot; null: the system"
    )
    user: SenderOut | None = Field(description="Whom it is for (null once they left the account)")
    created_at: int
    account_id: int


class NotificationMeta(BaseModel):
    unread_count: int
    count: int
    current_page: int


class NotificationPage(BaseModel):
    meta: NotificationMeta
    payload: list[NotificationOut]


class NotificationIndex(BaseModel):
    data: NotificationPage


class ReadAll(BaseModel):
    """Without a primary actor every notification is read; with one, only those about that conversation."""

    primary_actor_type: Literal["Conversation"] | None = None
    primary_actor_id: int | None = Field(default=None, description="The conversation's display_id")
