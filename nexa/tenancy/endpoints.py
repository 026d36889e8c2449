from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import Response

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.kit.errors import NotFound
from nexa.kit.storage import media_store
from nexa.runtime import Runtime
from nexa.tenancy import branding, service
from nexa.tenancy.schemas import AccountOut, AccountUpdate
from nexa.tenancy.serializers import account_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["accounts"])
public_router = APIRouter(tags=["accounts"], include_in_schema=False)

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


BrandImage = Annotated[UploadFile, File(description="PNG, JPEG, GIF, WebP or ICO, at most 1 MB")]


async def _upload(asset: branding.BrandAsset, file: UploadFile, ctx: AccountContext, session: DbSession,
                  runtime: Runtime) -> AccountOut:
    assert ctx.user is not None
    data = await file.read(branding.MAX_BRAND_IMAGE_BYTES + 1)
    account = await branding.upload_brand_image(session, ctx.account, asset, data, settings=runtime.settings,
                                                actor_user_id=ctx.user.id)
    return account_out(account)


@router.post("/branding/logo", response_model=AccountOut)
async def upload_logo(file: BrandImage, ctx: AccountAdmin, session: DbSession, runtime: RuntimeDep) -> AccountOut:
    """Upload the brand's logo (multipart `file`); `branding.logo_url` then points at it."""
    return await _upload("logo", file, ctx, session, runtime)


@router.post("/branding/favicon", response_model=AccountOut)
async def upload_favicon(file: BrandImage, ctx: AccountAdmin, session: DbSession, runtime: RuntimeDep) -> AccountOut:
    """Upload the brand's favicon (multipart `file`); `branding.favicon_url` then points at it."""
    return await _upload("favicon", file, ctx, session, runtime)


@public_router.get("/brand/{account_id}/{name}")
async def brand_image(account_id: int, name: str, runtime: RuntimeDep) -> Response:
    """An uploaded logo or favicon, to anyone (login page, widget): its name is new on every upload."""
    key = branding.storage_key(account_id, name)
    if key is None:
        raise NotFound()
    try:
        data = await media_store(runtime.settings).read(key)
    except FileNotFoundError:
        raise NotFound() from None
    return Response(data, media_type=branding.CONTENT_TYPES[name[name.rindex("."):]], headers={
        "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"})
