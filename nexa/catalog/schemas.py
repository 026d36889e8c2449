from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from nexa.catalog.models import Availability, ItemKind
from nexa.kit.params import WrappedParams


class _ItemFields(WrappedParams):
    wrapper = "catalog_item"

    @field_validator("currency", check_fields=False)
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class CatalogItemCreate(_ItemFields):
    kind: ItemKind = ItemKind.product
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=20_000)
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="BRL", pattern=r"^[A-Za-z]{3}$")
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    availability: Availability = Availability.available
    duration_minutes: int | None = Field(default=None, ge=1, le=100_000)


class CatalogItemUpdate(_ItemFields):
    kind: ItemKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=20_000)
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    availability: Availability | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=100_000)


class CatalogItemOut(BaseModel):
    id: int
    account_id: int
    kind: ItemKind
    name: str
    description: str
    price: str | None = Field(description="Decimal as a string, e.g. \"49.90\"")
    currency: str
    sku: str | None
    availability: Availability
    duration_minutes: int | None
    created_at: str
    updated_at: str


class CatalogItemList(BaseModel):
    payload: list[CatalogItemOut]


class ImportRowError(BaseModel):
    row: int = Field(description="1-based line number in the file, the header being line 1")
    error: str


class CatalogImportResult(BaseModel):
    created: int
    updated: int
    errors: list[ImportRowError]
