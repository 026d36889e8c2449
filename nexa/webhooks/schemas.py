from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from nexa.kit.params import WrappedParams


class WebhookCreate(WrappedParams):
    wrapper = "webhook"

    url: str = Field(max_length=2048)
    name: str | None = Field(default=None, max_length=255)
    subscriptions: list[str] | None = Field(default=None, description="Event names; default: Chatwoot's default set")
    inbox_id: int | None = Field(default=None, description="Only this inbox's events")


class WebhookUpdate(WrappedParams):
    wrapper = "webhook"

    url: str | None = Field(default=None, max_length=2048)
    name: str | None = Field(default=None, max_length=255)
    subscriptions: list[str] | None = None
    inbox_id: int | None = None
    enabled: bool | None = Field(default=None, description="true turns a webhook disabled for failing back on")


class WebhookInbox(BaseModel):
    id: int
    name: str


class WebhookOut(BaseModel):
    id: int
    name: str | None
    url: str
    account_id: int
    subscriptions: list[str]
    inbox: WebhookInbox | None = None
    secret: str = Field(description="Signs every delivery: X-Chatwoot-Signature = sha256=HMAC(secret, ts.body)")
    enabled: bool
    disabled_reason: str | None


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class WebhookListResponse(BaseModel):
    payload: WebhookList


class WebhookPayload(BaseModel):
    webhook: WebhookOut


class WebhookResponse(BaseModel):
    payload: WebhookPayload


class DeliveryOut(BaseModel):
    id: int
    uuid: str = Field(description="X-Chatwoot-Delivery, the same on every attempt and redelivery")
    event: str
    url: str
    state: str = Field(description="pending (being tried), succeeded, failed (attempts used up)")
    attempts: int
    response_status: int | None
    response_body: str | None = Field(description="The first 2,000 characters of the last response")
    duration_ms: int | None
    error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    payload: list[DeliveryOut]
