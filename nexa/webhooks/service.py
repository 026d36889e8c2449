"""Account webhooks: validation, secrets, re-enabling; target URL rules shared with agent bots."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.config import Settings
from nexa.inboxes.repository import InboxRepository
from nexa.kit.crypto import Cipher, random_token
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.kit.urls import check_target_url
from nexa.webhooks.models import WebhookEndpoint
from nexa.webhooks.repository import WebhookEndpointRepository
from nexa.webhooks.schemas import WebhookCreate, WebhookUpdate

# Webhook::ALLOWED_WEBHOOK_EVENTS.
ALLOWED_EVENTS = (
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "webwidget_triggered",
    "inbox_created",
    "inbox_updated",
    "conversation_typing_on",
    "conversation_typing_off",
)
# What Chatwoot subscribes a webhook created without subscriptions to.
DEFAULT_SUBSCRIPTIONS = (
    "conversation_status_changed",
    "conversation_updated",
    "conversation_created",
    "contact_created",
    "contact_updated",
    "message_created",
    "message_updated",
    "webwidget_triggered",
)
SECRET_LENGTH = 40


def new_secret(cipher: Cipher) -> str:
    """A signing secret, encrypted for storage."""
    return cipher.encrypt(random_token(SECRET_LENGTH))


def _checked_subscriptions(subscriptions: list[str]) -> list[str]:
    unknown = sorted(set(subscriptions) - set(ALLOWED_EVENTS))
    if unknown:
        raise ValidationFailed(
            _("Subscriptions Invalid events: %(values)s", values=", ".join(unknown)), ["subscriptions"]
        )
    return list(dict.fromkeys(subscriptions))


async def create_webhook(
    session: AsyncSession, account_id: int, params: WebhookCreate, *, settings: Settings, cipher: Cipher
) -> WebhookEndpoint:
    webhook = WebhookEndpoint(
        account_id=account_id,
        url="",
        subscriptions=list(DEFAULT_SUBSCRIPTIONS),
        encrypted_secret=new_secret(cipher),
        enabled=True,
        consecutive_failures=0,
    )
    await _apply(session, webhook, params.model_dump(exclude_unset=True), settings)
    return await WebhookEndpointRepository(session, account_id).add(webhook)


async def update_webhook(
    session: AsyncSession, webhook: WebhookEndpoint, params: WebhookUpdate, *, settings: Settings
) -> WebhookEndpoint:
    """Changes what was sent; `enabled: true` turns a webhook that was disabled for failing back on."""
    changes = params.model_dump(exclude_unset=True)
    if changes.pop("enabled", None) is True and not webhook.enabled:
        webhook.enabled = True
        webhook.disabled_reason = None
        webhook.consecutive_failures = 0
    await _apply(session, webhook, changes, settings)
    await session.flush()
    return webhook


async def _apply(session: AsyncSession, webhook: WebhookEndpoint, changes: dict[str, Any], settings: Settings) -> None:
    repository = WebhookEndpointRepository(session, webhook.account_id)
    if "url" in changes:
        url = await check_target_url(changes["url"] or "", settings)
        existing = await repository.get_by_url(url)
        if existing is not None and existing is not webhook:
            raise ValidationFailed(_("Url has already been taken"), ["url"])
        webhook.url = url
    elif not webhook.url:
        raise ValidationFailed(_("Url can't be blank"), ["url"])
    if "name" in changes:
        webhook.name = (changes["name"] or "").strip() or None
    if changes.get("subscriptions") is not None:
        webhook.subscriptions = _checked_subscriptions(changes["subscriptions"])
    if "inbox_id" in changes:
        inbox_id = changes["inbox_id"]
        if inbox_id is not None and await InboxRepository(session, webhook.account_id).get(inbox_id) is None:
            raise ValidationFailed(_("Inbox does not exist"), ["inbox_id"])
        webhook.inbox_id = inbox_id
