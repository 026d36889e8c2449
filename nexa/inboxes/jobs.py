"""Jobs of the inboxes domain: syncing WhatsApp message templates from Meta (nexa.inboxes.templates)."""

from __future__ import annotations

from collections.abc import Callable

from nexa.channels.base import DeliveryError
from nexa.channels.webhooks import InboxCredentials
from nexa.channels.whatsapp_cloud.templates import fetch_message_templates
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import InboxRepository, TemplateSyncRepository
from nexa.inboxes.templates import (
    RESYNC_AFTER,
    RESYNC_JOB,
    SYNC_JOB,
    SYNC_MAX_ATTEMPTS,
    SYNC_QUEUE,
    enqueue_template_sync,
    has_message_templates,
    record_sync_failure,
    record_templates,
)
from nexa.jobs.registry import JobContext, job
from nexa.kit.clock import utcnow
from nexa.runtime import current_runtime

# Inboxes queued per periodic run; the rest are due on the next run (every 15 minutes).
RESYNC_BATCH = 200


@job(SYNC_JOB, queue=SYNC_QUEUE, max_attempts=SYNC_MAX_ATTEMPTS, timeout=120)
async def sync_message_templates(ctx: JobContext, inbox_id: int) -> None:
    """List the inbox's templates from Meta and store them; Meta's refusal is stored in plain words.

    A temporary failure (network, 5xx, rate limit) is retried with backoff; only the last attempt's is stored.
    """
    assert ctx.account_id is not None
    runtime = current_runtime()
    async with ctx.database.session(write=False) as session:
        inbox = await InboxRepository(session, ctx.account_id).get(inbox_id)
    if inbox is None or not has_message_templates(inbox):
        return
    try:
        templates = await fetch_message_templates(
            inbox, InboxCredentials(inbox, runtime.cipher), runtime.http
        )
    except DeliveryError as error:
        if error.retryable and ctx.attempt < ctx.max_attempts:
            raise
        reason = error.reason
        ctx.logger.info(
            "message templates not synced", extra={"inbox_id": inbox_id, "reason": reason, "code": error.code}
        )
        await _update(ctx, inbox_id, lambda stored: record_sync_failure(stored, reason, utcnow()))
        return
    await _update(ctx, inbox_id, lambda stored: record_templates(stored, templates, utcnow()))


async def _update(ctx: JobContext, inbox_id: int, change: Callable[[Inbox], None]) -> None:
    """Apply `change` to the inbox in its own short transaction (the Graph calls ran outside any)."""
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        inbox = await InboxRepository(session, ctx.account_id).get(inbox_id)
        if inbox is not None:
            change(inbox)


@job(RESYNC_JOB, queue=SYNC_QUEUE, max_attempts=3, cron="*/15 * * * *")
async def resync_message_templates(ctx: JobContext) -> None:
    """Queue a sync for every WhatsApp Cloud inbox, of every account, not synced for RESYNC_AFTER."""
    async with ctx.database.session() as session:
        due = await TemplateSyncRepository(session).due(utcnow() - RESYNC_AFTER, limit=RESYNC_BATCH)
        for inbox_id, account_id in due:
            await enqueue_template_sync(session, inbox_id, account_id)
    ctx.logger.info("message template syncs queued", extra={"inboxes": len(due)})
