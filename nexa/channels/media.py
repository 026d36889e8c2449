"""Media: customers' attachments fetched from the provider into the media store, and every stored file
served to agents (with their session) and to browsers and providers (by expiring signed link).

`channels.fetch_media` is enqueued by the inbound pipeline for each attachment that names a provider
media id or URL. A permanent failure is written on the attachment (`meta.fetch_error`, shown to agents);
the message is never lost for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.channels.base import DeliveryError, IncomingMedia, MediaContent
from nexa.channels.inbound import FETCH_MEDIA_JOB
from nexa.channels.registry import adapter_for
from nexa.channels.webhooks import InboxCredentials
from nexa.conversations import messages
from nexa.conversations.models import Attachment, Conversation, Message
from nexa.conversations.repository import AttachmentRepository
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import InboxMemberRepository
from nexa.jobs.registry import Discard, JobContext, job
from nexa.kit.errors import NexaError, NotFound
from nexa.kit.lazy_text import _
from nexa.kit.storage import inline_disposition, media_signature_valid, media_store, new_media_key
from nexa.runtime import current_runtime

public_router = APIRouter(tags=["media"])
router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["media"])

ConversationsRead = Annotated[AccountContext, Depends(authorize("conversations:read"))]


class LinkInvalid(NexaError):
    status_code = 403
    default_message = _("This media link has expired or is not valid")


# --- fetching ------------------------------------------------------------------------------------------


@job(FETCH_MEDIA_JOB, queue="media", max_attempts=8, priority=4, timeout=180)
async def fetch_media(ctx: JobContext, attachment_id: int) -> None:
    """Download an inbound attachment through its channel and keep it in the media store."""
    runtime = current_runtime()
    async with ctx.database.session(write=False) as session:
        attachment = await session.get(Attachment, attachment_id)
        message = await session.get(Message, attachment.message_id) if attachment is not None else None
        inbox = await session.get(Inbox, message.inbox_id) if message is not None else None
    if attachment is None or inbox is None:
        raise Discard(f"attachment {attachment_id} no longer exists")
    if attachment.file_key:
        return
    adapter = adapter_for(inbox.channel_type)
    if adapter is None:
        await _record_failure(ctx, attachment_id, f"Media cannot be downloaded from {inbox.channel_type.value} inboxes")
        return
    try:
        content = await adapter.fetch_media(inbox, InboxCredentials(inbox, runtime.cipher), _incoming(attachment), runtime.http)
    except DeliveryError as error:
        if error.retryable and ctx.attempt < ctx.max_attempts:
            raise
        await _record_failure(ctx, attachment_id, error.reason)
        return
    if len(content.data) > runtime.settings.media_max_bytes:
        await _record_failure(ctx, attachment_id, f"The file is larger than {runtime.settings.media_max_bytes} bytes")
        return
    key = new_media_key(attachment.account_id, content.mime_type or attachment.content_type, _filename(attachment, content))
    await media_store(runtime.settings).write(key, content.data)
    async with ctx.database.session() as session:
        await _update(session, attachment_id, key=key, content=content)


def _incoming(attachment: Attachment) -> IncomingMedia:
    meta = attachment.meta
    return IncomingMedia(
        file_type=attachment.file_type,
        provider_media_id=meta.get("provider_media_id"),
        url=attachment.external_url,
        mime_type=attachment.content_type,
        filename=meta.get("filename"),
        sha256=meta.get("sha256"),
        size=attachment.file_size,
        meta=meta,
    )


def _filename(attachment: Attachment, content: MediaContent) -> str | None:
    return content.filename or attachment.meta.get("filename")


async def _update(session: AsyncSession, attachment_id: int, *, key: str, content: MediaContent) -> None:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        return
    attachment.file_key = key
    attachment.content_type = content.mime_type or attachment.content_type
    attachment.file_size = len(content.data)
    attachment.meta = {name: value for name, value in attachment.meta.items() if name != "fetch_error"}
    if content.filename and not attachment.meta.get("filename"):
        attachment.meta = {**attachment.meta, "filename": content.filename}
    await _announce(session, attachment)


async def _record_failure(ctx: JobContext, attachment_id: int, reason: str) -> None:
    ctx.logger.warning("media not fetched", extra={"attachment_id": attachment_id, "reason": reason})
    async with ctx.database.session() as session:
        attachment = await session.get(Attachment, attachment_id)
        if attachment is not None:
            attachment.meta = {**attachment.meta, "fetch_error": reason}
            await _announce(session, attachment)


async def _announce(session: AsyncSession, attachment: Attachment) -> None:
    await session.flush()
    message = await session.get(Message, attachment.message_id)
    conversation = await session.get(Conversation, message.conversation_id) if message is not None else None
    if message is not None and conversation is not None:
        await messages.attachments_changed(session, message, conversation)


# --- serving -------------------------------------------------------------------------------------------


async def _file_response(runtime: RuntimeDep, attachment: Attachment) -> Response:
    if not attachment.file_key:
        raise NotFound(_("This attachment has no stored file (yet)"))
    store = media_store(runtime.settings)
    filename = attachment.meta.get("filename")
    direct = store.direct_url(attachment.file_key, attachment.content_type, filename)
    if direct is not None:
        # The reader is authorized by now; the bytes come from the bucket itself (NEXA_S3_REDIRECT).
        return RedirectResponse(direct, status_code=307, headers={"Cache-Control": "no-store"})
    try:
        file = await store.open(attachment.file_key)
    except FileNotFoundError:
        raise NotFound(_("The attachment's file is missing from the media store")) from None
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    if file.size is not None:
        headers["Content-Length"] = str(file.size)  # providers fetching an attachment want to know its size
    if filename:
        headers["Content-Disposition"] = inline_disposition(filename)
    media_type = attachment.content_type or "application/octet-stream"
    return StreamingResponse(file.chunks, media_type=media_type, headers=headers)


@public_router.get("/media/{attachment_id}", response_class=Response)
async def signed_media(
    attachment_id: int,
    session: DbSession,
    runtime: RuntimeDep,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(max_length=128)],
) -> Response:
    """A stored file by signed link (the `data_url` of attachments): no session needed, 403 once expired
    or if any part of the link was changed."""
    if not media_signature_valid(runtime.settings, attachment_id, expires, signature):
        raise LinkInvalid()
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound()
    return await _file_response(runtime, attachment)


@router.get("/attachments/{attachment_id}/file", response_class=Response)
async def attachment_file(attachment_id: int, ctx: ConversationsRead, session: DbSession, runtime: RuntimeDep) -> Response:
    """A stored file for a signed-in member; agents see the inboxes they belong to, as with conversations."""
    attachment = await AttachmentRepository(session, ctx.account_id).get_or_404(attachment_id)
    if not ctx.is_admin and ctx.user is not None:
        message = await session.get(Message, attachment.message_id)
        inbox_ids = await InboxMemberRepository(session, ctx.account_id).inbox_ids_of_user(ctx.user.id)
        if message is None or message.inbox_id not in inbox_ids:
            raise NotFound()
    return await _file_response(runtime, attachment)

