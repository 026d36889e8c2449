from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.bot.llm import service
from nexa.bot.llm.schemas import LLMConfigOut, LLMConfigUpdate, LLMTestRequest, LLMTestResult, LLMUsageOut

router = APIRouter(prefix="/api/v1/accounts/{account_id}/bot/llm", tags=["bot"])

AdminRead = Annotated[AccountContext, Depends(authorize("account:read", admin=True))]
AdminWrite = Annotated[AccountContext, Depends(authorize("account:write", admin=True))]


@router.get("", response_model=LLMConfigOut)
async def get_llm_config(ctx: AdminRead, session: DbSession, runtime: RuntimeDep) -> LLMConfigOut:
    return await service.config_out(session, runtime, ctx.account_id)


@router.put("", response_model=LLMConfigOut)
async def update_llm_config(body: LLMConfigUpdate, ctx: AdminWrite, session: DbSession, runtime: RuntimeDep) -> LLMConfigOut:
    await service.update_config(session, runtime, ctx.account_id, body)
    return await service.config_out(session, runtime, ctx.account_id)


@router.get("/usage", response_model=LLMUsageOut)
async def get_llm_usage(
    ctx: AdminRead, session: DbSession, days: Annotated[int, Query(ge=1, le=366, description="UTC days, today included")] = 30
) -> LLMUsageOut:
    return await service.usage_report(session, ctx.account_id, days)


@router.post("/test", response_model=LLMTestResult)
async def test_llm(
    ctx: AdminWrite, session: DbSession, runtime: RuntimeDep, body: Annotated[LLMTestRequest | None, Body()] = None
) -> LLMTestResult:
    """Make one real call with the saved settings and say what happened."""
    message = (body or LLMTestRequest()).message
    return await service.test_connection(session, runtime, ctx.account_id, message)
