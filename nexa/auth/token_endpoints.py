"""API tokens of an account: administrators create them for integrations (shown once), list and revoke them.

A token created here works only in its account, with the scopes chosen, for as long as its creator stays a
member with those rights (the creator is the token's user).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from nexa.auth import service
from nexa.auth.audit import record as record_audit
from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.auth.models import AccessToken, TokenOwner
from nexa.auth.repository import AccountTokenRepository
from nexa.auth.schemas import AccessTokenCreate, AccessTokenCreated, AccessTokenList, AccessTokenOut
from nexa.auth.tokens import API_TOKEN_PREFIX
from nexa.kit.clock import utcnow
from nexa.kit.errors import NotFound

router = APIRouter(prefix="/api/v1/accounts/{account_id}/access_tokens", tags=["access tokens"])

TokensRead = Annotated[AccountContext, Depends(authorize("tokens:read", admin=True))]
TokensAdmin = Annotated[AccountContext, Depends(authorize("tokens:write", admin=True))]


def _out(token: AccessToken) -> AccessTokenOut:
    return AccessTokenOut(
        id=token.id, name=token.name, prefix=f"{API_TOKEN_PREFIX}{token.lookup_id}", scopes=token.scopes,
        user_id=token.owner_id, created_at=token.created_at, last_used_at=token.last_used_at,
        expires_at=token.expires_at,
    )


@router.get("", response_model=AccessTokenList)
async def list_tokens(ctx: TokensRead, session: DbSession) -> AccessTokenList:
    """The account's live tokens, newest first (never their secret part)."""
    return AccessTokenList(payload=[_out(t) for t in await AccountTokenRepository(session, ctx.account_id).live_user_tokens()])


@router.post("", response_model=AccessTokenCreated)
async def create_token(body: AccessTokenCreate, ctx: TokensAdmin, session: DbSession) -> AccessTokenCreated:
    """A new token owned by the caller and limited to this account; `token` is in this response only."""
    assert ctx.user is not None
    expires_at = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, plaintext = await service.create_api_token(
        session, owner_type=TokenOwner.user, owner_id=ctx.user.id, name=body.name.strip() or "token",
        scopes=body.scopes, account_id=ctx.account_id, expires_at=expires_at,
    )
    await record_audit(session, "token.created", account_id=ctx.account_id, actor_user_id=ctx.user.id,
                       target_type="access_token", target_id=token.id)
    return AccessTokenCreated(**_out(token).model_dump(), token=plaintext)


@router.delete("/{access_token_id}", status_code=200, response_class=Response)
async def revoke_token(access_token_id: int, ctx: TokensAdmin, session: DbSession) -> Response:
    """Revoke: the token answers 401 from now on."""
    token = await AccountTokenRepository(session, ctx.account_id).get(access_token_id)
    if token is None or token.owner_type != TokenOwner.user or token.revoked_at is not None:
        raise NotFound()
    await service.revoke_api_token(session, token, actor_user_id=ctx.user.id if ctx.user else None)
    return Response(status_code=200)
