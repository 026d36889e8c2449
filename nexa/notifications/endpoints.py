"""Chatwoot's notifications API: the signed-in member's own notifications in one account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.kit.pagination import PageNumber, paginate
from nexa.notifications import service
from nexa.notifications.repository import NotificationRepository
from nexa.notifications.schemas import (
    NotificationIndex,
    NotificationMeta,
    NotificationOut,
    NotificationPage,
    ReadAll,
)
from nexa.notifications.serializers import notifications_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/notifications", tags=["notifications"])

# Members only (an agent bot has no notifications): `authorize` refuses bots unless told otherwise.
NotificationsRead = Annotated[AccountContext, Depends(authorize("conversations:read"))]
NotificationsWrite = Annotated[AccountContext, Depends(authorize("conversations:write"))]

NOTIFICATIONS_PER_PAGE = 15  # Chatwoot's RESULTS_PER_PAGE


def _mine(session: DbSession, ctx: AccountContext) -> NotificationRepository:
    assert ctx.user is not None  # members only, see above
    return NotificationRepository(session, ctx.account_id, ctx.user.id)


@router.get("", response_model=NotificationIndex)
async def list_notifications(
    ctx: NotificationsRead, session: DbSession, page: PageNumber = 1
) -> NotificationIndex:
    """Newest first, 15 a page, with the unread and total counts."""
    repository = _mine(session, ctx)
    unread, count = await repository.counts()
    rows = await repository.list(paginate(repository.newest_first(), page, NOTIFICATIONS_PER_PAGE))
    return NotificationIndex(
        data=NotificationPage(
            meta=NotificationMeta(unread_count=unread, count=count, current_page=page),
            payload=await notifications_out(session, ctx.account_id, rows),
        )
    )


@router.get("/unread_count", response_model=int)
async def unread_count(ctx: NotificationsRead, session: DbSession) -> int:
    """A bare number, as Chatwoot answers."""
    unread, _ = await _mine(session, ctx).counts()
    return unread


@router.post("/read_all", status_code=200, response_class=Response)
async def read_all(ctx: NotificationsWrite, session: DbSession, body: ReadAll | None = None) -> Response:
    """Marks every notification read, or with `{primary_actor_type: "Conversation", primary_actor_id}` only
    those about that conversation."""
    await service.mark_all_read(
        session, _mine(session, ctx), conversation_display_id=body.primary_actor_id if body else None
    )
    return Response(status_code=200)


@router.patch("/{notification_id}", response_model=NotificationOut)
async def mark_read(notification_id: int, ctx: NotificationsWrite, session: DbSession) -> NotificationOut:
    repository = _mine(session, ctx)
    notification = await repository.get_or_404(notification_id)
    await service.mark_read(session, repository, notification)
    (out,) = await notifications_out(session, ctx.account_id, [notification])
    return out


@router.delete("/{notification_id}", status_code=200, response_class=Response)
async def delete_notification(notification_id: int, ctx: NotificationsWrite, session: DbSession) -> Response:
    repository = _mine(session, ctx)
    await service.delete(session, repository, await repository.get_or_404(notification_id))
    return Response(status_code=200)
