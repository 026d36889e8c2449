from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.tenancy import service
from nexa.tenancy.schemas import AccountOut, AccountUpdate
from nexa.tenancy.serializers import account_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["accounts"])

AccountRead = Annotated[AccountContext, Depends(authorize("account:read"))]
AccountAdmin = Annotated[AccountContext, Depends(authorize("account:write", admin=True))]


@router.get("", response_model=AccountOut)
async def show_account(ctx: AccountRead) -> AccountOut:
    return account_out(ctx.account)


@router.patch("", response_model=AccountOut)
async def update_account(body: AccountUpdate, ctx: AccountAdmin, session: DbSession) -> AccountOut:
    """Administrators change the name, language, time zone and white-label brand."""
    assert ctx.user is not None
    account = await service.update_account(session, ctx.account, body, actor_user_id=ctx.user.id)
    return account_out(account)
