from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Response, UploadFile

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.catalog import service
from nexa.catalog.repository import CatalogItemRepository
from nexa.catalog.schemas import (
    CatalogImportResult,
    CatalogItemCreate,
    CatalogItemList,
    CatalogItemOut,
    CatalogItemUpdate,
)
from nexa.catalog.serializers import catalog_item_out
from nexa.kit.lazy_text import _
from nexa.knowledge.service import FileTooLarge

router = APIRouter(prefix="/api/v1/accounts/{account_id}/catalog", tags=["catalog"])

CatalogRead = Annotated[AccountContext, Depends(authorize("knowledge:read", bots=True))]
CatalogAdmin = Annotated[AccountContext, Depends(authorize("knowledge:write", admin=True))]
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@router.get("/items", response_model=CatalogItemList)
async def list_items(ctx: CatalogRead, session: DbSession) -> CatalogItemList:
    items = await CatalogItemRepository(session, ctx.account_id).by_name()
    return CatalogItemList(payload=[catalog_item_out(item) for item in items])


@router.post("/items", response_model=CatalogItemOut)
async def create_item(body: CatalogItemCreate, ctx: CatalogAdmin, session: DbSession) -> CatalogItemOut:
    return catalog_item_out(await service.create_item(session, ctx.account_id, body))


@router.get("/items/{item_id}", response_model=CatalogItemOut)
async def get_item(item_id: int, ctx: CatalogRead, session: DbSession) -> CatalogItemOut:
    return catalog_item_out(await CatalogItemRepository(session, ctx.account_id).get_or_404(item_id))


@router.patch("/items/{item_id}", response_model=CatalogItemOut)
async def update_item(item_id: int, body: CatalogItemUpdate, ctx: CatalogAdmin, session: DbSession) -> CatalogItemOut:
    item = await CatalogItemRepository(session, ctx.account_id).get_or_404(item_id)
    return catalog_item_out(await service.update_item(session, item, body))


@router.delete("/items/{item_id}", status_code=200, response_class=Response)
async def delete_item(item_id: int, ctx: CatalogAdmin, session: DbSession) -> Response:
    item = await CatalogItemRepository(session, ctx.account_id).get_or_404(item_id)
    await service.delete_item(session, item)
    return Response(status_code=200)


@router.post("/import", response_model=CatalogImportResult, summary="Create or update items from a CSV file")
async def import_items(
    ctx: CatalogAdmin, session: DbSession, file: Annotated[UploadFile, File(description="CSV: name, price, ...")]
) -> CatalogImportResult:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise FileTooLarge(
            _("The CSV is larger than %(megabytes)s MB", megabytes=MAX_IMPORT_BYTES // (1024 * 1024))
        )
    return await service.import_csv(session, ctx.account_id, data)
