from __future__ import annotations

from collections.abc import Sequence

from nexa.tenancy.repository import AccountRepository
from nexa.webhooks.models import TargetKind, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointRepository(AccountRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def get_by_url(self, url: str) -> WebhookEndpoint | None:
        return await self.session.scalar(self.select().where(WebhookEndpoint.url == url))

    async def ordered(self) -> Sequence[WebhookEndpoint]:
        return await self.list(self.select().order_by(WebhookEndpoint.id))

    async def enabled(self) -> Sequence[WebhookEndpoint]:
        """The webhooks events go to (the fan-out filters them by subscription and inbox)."""
        return await self.list(self.select().where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id))


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
