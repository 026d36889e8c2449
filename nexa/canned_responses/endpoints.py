from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.canned_responses import service
from nexa.canned_responses.repository import CannedResponseRepository
from nexa.canned_responses.schemas import CannedResponseCreate, CannedResponseOut, CannedResponseUpdate
from nexa.canned_responses.serializers import canned_response_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/canned_responses", tags=["canned responses"])

CannedRead = Annotated[AccountContext, Depends(authorize("conversations:read"))]
CannedWrite = Annotated[AccountContext, Depends(authorize("conversations:write"))]


@router.get("", response_model=list[CannedResponseOut])
async def list_canned_responses(
    ctx: CannedRead, session: DbSession, search: Annotated[str | None, Query(max_length=255)] = None
) -> list[CannedResponseOut]:
    found = await CannedResponseRepository(session, ctx.account_id).search(search)
    return [canned_response_out(c) for c in found]


@router.post("", response_model=CannedResponseOut)
async def create_canned_response(body: CannedResponseCreate, ctx: CannedWrite, session: DbSession) -> CannedResponseOut:
    return canned_response_out(await service.create_canned_response(session, ctx.account_id, body))


@router.patch("/{canned_response_id}", response_model=CannedResponseOut)
async def update_canned_response(
    canned_response_id: int, body: CannedResponseUpdate, ctx: CannedWrite, session: DbSession
) -> CannedResponseOut:
    canned = await CannedResponseRepository(session, ctx.account_id).get_or_404(canned_response_id)
    return canned_response_out(await service.update_canned_response(session, ctx.account_id, canned, body))


@router.delete("/{canned_response_id}", status_code=200, response_class=Response)
async def delete_canned_response(canned_response_id: int, ctx: CannedWrite, session: DbSession) -> Response:
    repository = CannedResponseRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(canned_response_id))
    return Response(status_code=200)
