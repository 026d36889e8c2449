"""Account webhooks (Chatwoot's shapes), their delivery log and manual redelivery; administrators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.inboxes.repository import InboxRepository
from nexa.kit.errors import NotFound
from nexa.kit.crypto import Cipher
from nexa.kit.pagination import PageNumber
from nexa.webhooks import jobs, service
from nexa.webhooks.models import DeliveryState, TargetKind, WebhookEndpoint, WebhookEvent
from nexa.webhooks.repository import WebhookDeliveryRepository, WebhookEndpointRepository, WebhookEventRepository
from nexa.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    WebhookCreate,
    WebhookList,
    WebhookListResponse,
    WebhookPayload,
    WebhookResponse,
    WebhookUpdate,
)
from nexa.webhooks.serializers import delivery_out, webhook_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["webhooks"])

WebhooksRead = Annotated[AccountContext, Depends(authorize("webhooks:read", admin=True))]
WebhooksAdmin = Annotated[AccountContext, Depends(authorize("webhooks:write", admin=True))]
DELIVERIES_PER_PAGE = 50


async def _response(session: AsyncSession, webhook: WebhookEndpoint, cipher: Cipher) -> WebhookResponse:
    inbox = await InboxRepository(session, webhook.account_id).get(webhook.inbox_id) if webhook.inbox_id else None
    return WebhookResponse(payload=WebhookPayload(webhook=webhook_out(webhook, inbox, cipher=cipher)))


@router.get("/webhooks", response_model=WebhookListResponse)
async def list_webhooks(ctx: WebhooksRead, session: DbSession, runtime: RuntimeDep) -> WebhookListResponse:
    webhooks = await WebhookEndpointRepository(session, ctx.account_id).ordered()
    inboxes = await InboxRepository(session, ctx.account_id).by_ids(w.inbox_id for w in webhooks if w.inbox_id)
    return WebhookListResponse(
        payload=WebhookList(
            webhooks=[webhook_out(w, inboxes.get(w.inbox_id or 0), cipher=runtime.cipher) for w in webhooks]
        )
    )


@router.post("/webhooks", response_model=WebhookResponse)
async def create_webhook(body: WebhookCreate, ctx: WebhooksAdmin, session: DbSession, runtime: RuntimeDep) -> WebhookResponse:
    webhook = await service.create_webhook(
        session, ctx.account_id, body, settings=runtime.settings, cipher=runtime.cipher
    )
    return await _response(session, webhook, runtime.cipher)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookResponse)
async def update_webhook(
    webhook_id: int, body: WebhookUpdate, ctx: WebhooksAdmin, session: DbSession, runtime: RuntimeDep
) -> WebhookResponse:
    webhook = await WebhookEndpointRepository(session, ctx.account_id).get_or_404(webhook_id)
    webhook = await service.update_webhook(session, webhook, body, settings=runtime.settings)
    return await _response(session, webhook, runtime.cipher)


@router.delete("/webhooks/{webhook_id}", status_code=200)
async def delete_webhook(webhook_id: int, ctx: WebhooksAdmin, session: DbSession) -> Response:
    repository = WebhookEndpointRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(webhook_id))
    return Response(status_code=200)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(webhook_id: int, ctx: WebhooksRead, session: DbSession, page: PageNumber = 1) -> DeliveryList:
    """The webhook's deliveries, newest first, 50 per page: outcome, response status, body excerpt, duration."""
    webhook = await WebhookEndpointRepository(session, ctx.account_id).get_or_404(webhook_id)
    deliveries = await WebhookDeliveryRepository(session, ctx.account_id).of_target(
        TargetKind.webhook, webhook.id, limit=DELIVERIES_PER_PAGE, offset=(page - 1) * DELIVERIES_PER_PAGE
    )
    events = WebhookEventRepository(session, ctx.account_id)
    names = {e.id: e.name for e in await events.list(events.select().where(WebhookEvent.id.in_({d.event_id for d in deliveries})))}
    return DeliveryList(payload=[delivery_out(d, names[d.event_id]) for d in deliveries])


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut)
async def redeliver(webhook_id: int, delivery_id: int, ctx: WebhooksAdmin, session: DbSession) -> DeliveryOut:
    """Send the same body again (same X-Chatwoot-Delivery), now, even to a disabled webhook."""
    webhook = await WebhookEndpointRepository(session, ctx.account_id).get_or_404(webhook_id)
    delivery = await WebhookDeliveryRepository(session, ctx.account_id).get_of_target(
        TargetKind.webhook, webhook.id, delivery_id
    )
    if delivery is None:
        raise NotFound()
    delivery.state = DeliveryState.pending
    delivery.url = webhook.url
    await session.flush()
    event = await WebhookEventRepository(session, ctx.account_id).get_or_404(delivery.event_id)
    await jobs.redeliver(session, delivery, event)
    return delivery_out(delivery, event.name)
