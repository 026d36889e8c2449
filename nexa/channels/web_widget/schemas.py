from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class VisitorIn(BaseModel):
    """A visitor introducing themselves (pre-chat form); every field optional, as Chatwoot's public API."""

    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=255)
    phone_number: str | None = Field(default=None, max_length=64)
    identifier: str | None = Field(default=None, max_length=255)
    custom_attributes: dict[str, Any] | None = None


class VisitorOut(BaseModel):
    id: int
    source_id: str = Field(description="The visitor's secret address in the inbox: keep it to come back")
    pubsub_token: str = Field(description="Subscribes the visitor's WebSocket to their own conversation")
    name: str
    email: str | None
    phone_number: str | None


class PublicSender(BaseModel):
    id: int | None
    name: str | None
    type: str | None
    avatar_url: str = ""


class PublicAttachment(BaseModel):
    id: int
    file_type: str
    data_url: str | None
    thumb_url: str | None


class PublicMessage(BaseModel):
    """What a visitor may see of a message: no private notes, no internal attributes."""

    id: int
    content: str | None
    message_type: int
    content_type: str
    content_attributes: dict[str, Any]
    created_at: int
    conversation_id: int
    status: str
    echo_id: str | None
    sender: PublicSender | None
    attachments: list[PublicAttachment]


class PublicConversation(BaseModel):
    id: int
    inbox_id: int
    status: str
    messages: list[PublicMessage]
    contact: VisitorOut


class MessageIn(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)
    echo_id: str | None = Field(default=None, max_length=64)


class TypingIn(BaseModel):
    typing_status: Literal["on", "off"]


class InitiatedAt(BaseModel):
    timestamp: str = Field(max_length=100)


class WidgetEventInfo(BaseModel):
    """What the widget knows of the visit; the server adds the browser and its language."""

    referer: str | None = Field(default=None, max_length=2048, description="The page the widget was opened on")
    initiated_at: InitiatedAt | None = None
    widget_language: str | None = Field(default=None, max_length=16)
    pre_chat_form_data: dict[str, str] | None = Field(
        default=None, max_length=20, description="What the visitor typed in the pre-chat form (field -> value)"
    )


class WidgetEventIn(BaseModel):
    """Chatwoot's widget event: `webwidget.triggered` when the visitor opens the chat."""

    name: Literal["webwidget.triggered"]
    event_info: WidgetEventInfo = Field(default_factory=WidgetEventInfo)


class WidgetInbox(BaseModel):
    """Everything the widget needs to draw itself: name, brand, greeting, pre-chat form, language."""

    identifier: str
    name: str
    locale: str
    product_name: str | None
    logo_url: str | None
    widget_color: str
    welcome_title: str | None
    welcome_tagline: str | None
    greeting_enabled: bool
    greeting_message: str | None
    pre_chat_form_enabled: bool
    pre_chat_form_fields: list[str]
    working_hours_enabled: bool
    is_open: bool
    out_of_office_message: str | None
