"""Pointing a provider at Nexa from Nexa itself (Evolution's webhook/set, Telegram's setWebhook).

WhatsApp Cloud has no such call: its callback URL is pasted into Meta's console by hand.
"""

from __future__ import annotations

import httpx

from nexa.channels.base import ConfiguresWebhook, DeliveryError
from nexa.channels.registry import adapter_for
from nexa.channels.webhooks import InboxCredentials, callback_url
from nexa.inboxes.models import Inbox
from nexa.kit.crypto import Cipher
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _


async def setup_webhook(inbox: Inbox, *, base_url: str, cipher: Cipher, http: httpx.AsyncClient) -> str:
    """Register the inbox's callback URL with its provider; the URL it was given. 422 with the provider's reason."""
    adapter = adapter_for(inbox.channel_type)
    url = callback_url(base_url, inbox)
    if not isinstance(adapter, ConfiguresWebhook) or url is None:
        raise UnprocessableEntity(
            _(
                "A %(channel_type)s inbox cannot set its webhook from here: give the provider callback_webhook_url",
                channel_type=inbox.channel_type,
            )
        )
    try:
        await adapter.configure(inbox, InboxCredentials(inbox, cipher), url, http)
    except DeliveryError as exc:
        raise UnprocessableEntity(
            _("The provider refused the webhook: %(reason)s", reason=exc.reason)
        ) from exc
    return url
