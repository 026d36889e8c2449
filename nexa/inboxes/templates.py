"""WhatsApp message templates on the inbox: when to sync them from Meta, and what a sync leaves behind.

Templates come from Meta, never from the inbox's settings: a WhatsApp Cloud inbox syncs its business
account's list when it is created, when its token or account changes, when an admin asks
(`POST /inboxes/{id}/sync_templates`) and every few hours (nexa.inboxes.jobs). The list is stored on the
inbox as Meta gives it (Chatwoot's `message_templates`, all statuses; the composer offers the approved
ones) with `message_templates_last_updated`; a failed sync keeps the last good list and says why in
`message_templates_sync_error`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.inboxes.models import ChannelType, Inbox
from nexa.jobs.enqueue import EnqueuedJob, enqueue
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _

SYNC_JOB = "inboxes.sync_message_templates"
RESYNC_JOB = "inboxes.resync_message_templates"
SYNC_QUEUE = "default"
SYNC_MAX_ATTEMPTS = 4
# A template approved (or paused) in Meta's console shows up in Nexa within this, without anyone asking.
RESYNC_AFTER = timedelta(hours=3)
# Settings that decide what the listing returns: a change to any of them syncs again.
_SOURCE_CONFIG = ("business_account_id", "api_base_url")
_SOURCE_SECRET = "access_token"


def has_message_templates(inbox: Inbox) -> bool:
    """Only WhatsApp Cloud inboxes have Meta templates to sync."""
    return inbox.channel_type == ChannelType.whatsapp_cloud


def template_source(inbox: Inbox) -> tuple[Any, ...]:
    """What the inbox's template listing depends on; compare it before and after a change."""
    return (
        *(inbox.channel_config.get(key) for key in _SOURCE_CONFIG),
        inbox.encrypted_credentials.get(_SOURCE_SECRET),
    )


async def enqueue_template_sync(session: AsyncSession, inbox_id: int, account_id: int) -> EnqueuedJob:
    """Sync the inbox's templates in a job (one at a time per inbox: a sync already waiting is reused)."""
    return await enqueue(
        session,
        SYNC_JOB,
        {"inbox_id": inbox_id},
        account_id=account_id,
        queue=SYNC_QUEUE,
        max_attempts=SYNC_MAX_ATTEMPTS,
        dedupe_key=f"templates:{inbox_id}",
    )


async def request_template_sync(session: AsyncSession, inbox: Inbox) -> EnqueuedJob:
    """An admin's "Sync templates": 422 for a channel without Meta templates."""
    if not has_message_templates(inbox):
        raise UnprocessableEntity(_("Only WhatsApp Cloud inboxes have message templates to sync."))
    return await enqueue_template_sync(session, inbox.id, inbox.account_id)


def record_templates(inbox: Inbox, templates: list[dict[str, Any]], at: datetime) -> None:
    inbox.message_templates = templates
    inbox.message_templates_last_updated = at
    inbox.message_templates_sync_attempted_at = at
    inbox.message_templates_sync_error = None


def record_sync_failure(inbox: Inbox, reason: str, at: datetime) -> None:
    """The last good list stays: agents keep sending the templates they had."""
    inbox.message_templates_sync_error = reason
    inbox.message_templates_sync_attempted_at = at
