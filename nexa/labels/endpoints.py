from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.labels import service
from nexa.labels.repository import LabelRepository
from nexa.labels.schemas import LabelCreate, LabelList, LabelOut, LabelUpdate
from nexa.labels.serializers import label_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/labels", tags=["labels"])

LabelsRead = Annotated[AccountContext, Depends(authorize("account:read"))]
LabelsAdmin = Annotated[AccountContext, Depends(authorize("account:write", admin=True))]


@router.get("", response_model=LabelList)
async def list_labels(ctx: LabelsRead, session: DbSession) -> LabelList:
    labels = await LabelRepository(session, ctx.account_id).ordered()
    return LabelList(payload=[label_out(label) for label in labels])


@router.post("", response_model=LabelOut)
async def create_label(body: LabelCreate, ctx: LabelsAdmin, session: DbSession) -> LabelOut:
    return label_out(await service.create_label(session, ctx.account_id, body))


@router.get("/{label_id}", response_model=LabelOut)
async def show_label(label_id: int, ctx: LabelsRead, session: DbSession) -> LabelOut:
    return label_out(await LabelRepository(session, ctx.account_id).get_or_404(label_id))


@router.patch("/{label_id}", response_model=LabelOut)
async def update_label(label_id: int, body: LabelUpdate, ctx: LabelsAdmin, session: DbSession) -> LabelOut:
    label = await LabelRepository(session, ctx.account_id).get_or_404(label_id)
    return label_out(await service.update_label(session, ctx.account_id, label, body))


@router.delete("/{label_id}", status_code=200, response_class=Response)
async def delete_label(label_id: int, ctx: LabelsAdmin, session: DbSession) -> Response:
    repository = LabelRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(label_id))
    return Response(status_code=200)
