from __future__ import annotations

from collections.abc import Sequence

from nexa.catalog.models import CatalogItem
from nexa.tenancy.repository import AccountRepository


class CatalogItemRepository(AccountRepository[CatalogItem]):
    model = CatalogItem

    async def by_sku(self, sku: str) -> CatalogItem | None:
        return await self.session.scalar(self.select().where(CatalogItem.sku == sku))

    async def by_name(self) -> Sequence[CatalogItem]:
        return await self.list(self.select().order_by(CatalogItem.name, CatalogItem.id))
