from __future__ import annotations

from nexa.inboxes.models import Inbox
from nexa.kit.crypto import Cipher
from nexa.webhooks.models import WebhookDelivery, WebhookEndpoint
from nexa.webhooks.schemas import DeliveryOut, WebhookInbox, WebhookOut


def webhook_out(webhook: WebhookEndpoint, inbox: Inbox | None, *, cipher: Cipher) -> WebhookOut:
    """Chatwoot's webhook JSON; only administrators reach the endpoints that return it (it has the secret)."""
    return WebhookOut(
        id=webhook.id,
        name=webhook.name,
        url=webhook.url,
        account_id=webhook.account_id,
        subscriptions=webhook.subscriptions,
        inbox=WebhookInbox(id=inbox.id, name=inbox.name) if inbox is not None else None,
        secret=cipher.decrypt(webhook.encrypted_secret),
        enabled=webhook.enabled,
        disabled_reason=webhook.disabled_reason,
    )


def delivery_out(delivery: WebhookDelivery, event_name: str) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        uuid=delivery.uuid,
        event=event_name,
        url=delivery.url,
        state=delivery.state.value,
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        response_body=delivery.response_body,
        duration_ms=delivery.duration_ms,
        error=delivery.error,
        created_at=delivery.created_at,
        last_attempt_at=delivery.last_attempt_at,
        delivered_at=delivery.delivered_at,
    )
