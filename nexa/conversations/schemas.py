from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from nexa.contacts.schemas import ContactOut
from nexa.conversations.models import ContentType, ConversationStatus, MessageType, Priority
from nexa.kit.params import WrappedParams
from nexa.teams.agents import AgentOut
from nexa.teams.schemas import TeamOut

_MESSAGE_TYPE_BY_NUMBER = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


class SenderOut(BaseModel):
    """Chatwoot's push_event_data of a message sender (contact, user or bot)."""

    id: int
    name: str
    type: str
    avatar_url: str = ""
    thumbnail: str = ""
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    available_name: str | None = None
    availability_status: str | None = None


class AttachmentOut(BaseModel):
    id: int
    message_id: int
    file_type: str
    account_id: int
    extension: str | None
    data_url: str | None
    thumb_url: str | None
    file_size: int | None
    content_type: str | None
    coordinates_lat: float | None = None
    coordinates_long: float | None = None
    fallback_title: str | None = None
    meta: dict[str, Any]


class MessageOut(BaseModel):
    id: int
    content: str | None
    account_id: int
    inbox_id: int
    conversation_id: int = Field(description="The conversation's display_id")
    message_type: int = Field(description="0 incoming, 1 outgoing, 2 activity, 3 template")
    content_type: str
    status: str = Field(description="pending (Nexa: not yet accepted by the channel), sent, delivered, read, failed")
    content_attributes: dict[str, Any]
    additional_attributes: dict[str, Any]
    created_at: int
    updated_at: int
    private: bool
    source_id: str | None
    echo_id: str | None = None
    external_error: str | None
    sender_type: str | None
    sender_id: int | None
    sender: SenderOut | None
    attachments: list[AttachmentOut] = Field(default_factory=list)


class ConversationMeta(BaseModel):
    sender: ContactOut
    channel: str
    assignee: AgentOut | None
    assignee_type: str | None
    team: TeamOut | None
    hmac_verified: bool = False


class ConversationOut(BaseModel):
    id: int = Field(description="The per-account display_id, used in every URL")
    uuid: str
    account_id: int
    inbox_id: int
    meta: ConversationMeta
    messages: list[MessageOut]
    last_non_activity_message: MessageOut | None
    labels: list[str]
    status: str
    priority: str | None
    muted: bool
    can_reply: bool = Field(
        description="False while only templates may be sent: a WhatsApp Cloud customer's last message is over 24 h old"
    )
    reply_window_closes_at: int | None = Field(
        None, description="Nexa: when free-form replies stop being allowed (unix); null when the channel has no such window"
    )
    queue_position: int | None = Field(
        None, description="Nexa: 1 = the next open unassigned conversation the account's assignment queue hands out; "
        "null when assigned or not open",
    )
    additional_attributes: dict[str, Any]
    custom_attributes: dict[str, Any]
    snoozed_until: int | None
    waiting_since: int | None
    first_reply_created_at: int | None
    agent_last_seen_at: int | None
    assignee_last_seen_at: int | None
    contact_last_seen_at: int | None
    last_activity_at: int
    timestamp: int
    created_at: int
    updated_at: float
    unread_count: int
    team_id: int | None
    assignee_agent_bot_id: int | None
    sla_policy_id: None = None


class ConversationCounts(BaseModel):
    mine_count: int
    assigned_count: int
    unassigned_count: int
    all_count: int


class ConversationPage(BaseModel):
    meta: ConversationCounts
    payload: list[ConversationOut]


class ConversationListResponse(BaseModel):
    data: ConversationPage


class ConversationMetaResponse(BaseModel):
    meta: ConversationCounts


class ConversationList(BaseModel):
    payload: list[ConversationOut]


class InitialMessage(BaseModel):
    content: str = Field(min_length=1)


class ConversationCreate(BaseModel):
    source_id: str | None = None
    inbox_id: int | None = None
    contact_id: int | None = None
    status: Literal["open", "pending", "resolved"] | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    snoozed_until: int | None = None
    additional_attributes: dict[str, Any] = Field(default_factory=dict)
    custom_attributes: dict[str, Any] = Field(default_factory=dict)
    message: InitialMessage | None = None


class ConversationUpdate(BaseModel):
    priority: Priority | None = None


class ToggleStatus(BaseModel):
    status: ConversationStatus | None = None
    snoozed_until: int | None = Field(default=None, description="Unix time; required to snooze")


class ToggleStatusResult(BaseModel):
    success: bool
    conversation_id: int
    current_status: str
    snoozed_until: int | None


class ToggleStatusResponse(BaseModel):
    meta: dict[str, Any]
    payload: ToggleStatusResult


class LastSeenOut(BaseModel):
    id: int
    agent_last_seen_at: int | None
    assignee_last_seen_at: int | None


class TypingStatus(BaseModel):
    typing_status: Literal["on", "off"]
    is_private: bool = False


class TogglePriority(BaseModel):
    priority: Priority | None = None


class CustomAttributes(BaseModel):
    custom_attributes: dict[str, Any]


class AssignmentCreate(BaseModel):
    assignee_id: int | None = None
    assignee_type: Literal["User", "AgentBot"] | None = None
    team_id: int | None = None


class AgentBotOut(BaseModel):
    id: int
    name: str
    description: str | None
    thumbnail: str
    outgoing_url: str | None
    bot_type: str
    type: str = "agent_bot"


class TemplateParams(BaseModel):
    """Chatwoot's WhatsApp template message: stored in the message's additional_attributes.template_params."""

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=1, max_length=16, description="e.g. pt_BR, en_US")
    category: str | None = None
    processed_params: dict[str, Any] = Field(
        default_factory=dict,
        description='Body parameters {"1": "Alex"}, or {body: {...}, header: {media_url, media_type}, buttons: [...]}',
    )


class MessageCreate(BaseModel):
    content: str | None = None
    message_type: MessageType = MessageType.outgoing
    private: bool = False
    content_type: ContentType = ContentType.text
    content_attributes: dict[str, Any] = Field(default_factory=dict)
    additional_attributes: dict[str, Any] = Field(default_factory=dict)
    echo_id: str | None = Field(default=None, max_length=255)
    source_id: str | None = Field(default=None, max_length=255)
    template_params: TemplateParams | None = None

    @field_validator("message_type", mode="before")
    @classmethod
    def _chatwoot_number(cls, value: Any) -> Any:
        return _MESSAGE_TYPE_BY_NUMBER.get(value, value) if isinstance(value, int) else value


class MessagesMeta(BaseModel):
    labels: list[str]
    additional_attributes: dict[str, Any]
    contact: ContactOut
    assignee: AgentOut | None
    agent_last_seen_at: int | None
    assignee_last_seen_at: int | None


class MessageList(BaseModel):
    meta: MessagesMeta
    payload: list[MessageOut]


class AttachmentsMeta(BaseModel):
    total_count: int


class ConversationAttachments(BaseModel):
    meta: AttachmentsMeta
    payload: list[AttachmentOut]


class MessageStatusUpdate(WrappedParams):
    """An API inbox's integrator reports what happened to a reply it was given (Chatwoot's message update)."""

    wrapper = "message"

    status: Literal["sent", "delivered", "read", "failed"]
    external_error: str | None = Field(default=None, max_length=2000, description="Why it failed (status failed)")
