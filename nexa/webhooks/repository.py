from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_

from nexa.tenancy.repository import AccountRepository
from nexa.webhooks.models import TargetKind, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointRepository(AccountRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def get_by_url(self, url: str) -> WebhookEndpoint | None:
        return await self.session.scalar(self.select().where(WebhookEndpoint.url == url))

    async def ordered(self) -> Sequence[WebhookEndpoint]:
        return await self.list(self.select().order_by(WebhookEndpoint.id))

    async def subscribed(self, event: str, inbox_id: int | None) -> list[WebhookEndpoint]:
        """Enabled webhooks for `event` (subscriptions are a short JSON list, filtered here)."""
        statement = self.select().where(WebhookEndpoint.enabled.is_(True))
        if inbox_id is None:
            statement = statement.where(WebhookEndpoint.inbox_id.is_(None))
        else:
            statement = statement.where(or_(WebhookEndpoint.inbox_id.is_(None), WebhookEndpoint.inbox_id == inbox_id))
        return [webhook for webhook in await self.list(statement) if event in webhook.subscriptions]


class WebhookEventRepository(AccountRepository[WebhookEvent]):
    model = WebhookEvent


class WebhookDeliveryRepository(AccountRepository[WebhookDelivery]):
    model = WebhookDelivery

    async def of_target(self, kind: TargetKind, target_id: int, *, limit: int, offset: int) -> Sequence[WebhookDelivery]:
        statement = (
            self.select()
            .where(WebhookDelivery.target_kind == kind, WebhookDelivery.target_id == target_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self.list(statement)

    async def get_of_target(self, kind: TargetKind, target_id: int, delivery_id: int) -> WebhookDelivery | None:
        return await self.session.scalar(
            self.select().where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.target_kind == kind,
                WebhookDelivery.target_id == target_id,
            )
        )
