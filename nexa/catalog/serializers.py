from __future__ import annotations

from nexa.catalog.models import CatalogItem
from nexa.catalog.schemas import CatalogItemOut


def catalog_item_out(item: CatalogItem) -> CatalogItemOut:
    return CatalogItemOut(
        id=item.id,
        account_id=item.account_id,
        kind=item.kind,
        name=item.name,
        description=item.description,
        price=None if item.price is None else f"{item.price:.2f}",
        currency=item.currency,
        sku=item.sku,
        availability=item.availability,
        duration_minutes=item.duration_minutes,
        created_at=item.created_at.isoformat(),
        updated_at=item.updated_at.isoformat(),
    )
