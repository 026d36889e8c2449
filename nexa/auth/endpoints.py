from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth import service
from nexa.auth.dependencies import (
    AccountContext,
    CurrentPrincipal,
    CurrentUser,
    DbSession,
    RuntimeDep,
    authorize,
    csrf_token_for,
    request_origin,
)
from nexa.auth.models import SessionKind
from nexa.auth.models import AuditEvent
from nexa.auth.repository import AuditEventRepository, UserRepository
from nexa.auth.schemas import AuditEventOut, AuditLogPage, LoginRequest, Profile, ProfileUpdate, RefreshRequest, TokenPair, WebSession
from nexa.auth.serializers import profile
from nexa.kit.errors import TooManyRequests, UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.kit.pagination import PageNumber, paginate
from nexa.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["auth"])
account_router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["audit"])
AUDIT_PAGE_SIZE = 25

_CREDENTIALS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": LoginRequest.model_json_schema()},
        },
    }
}


async def _read_credentials(request: Request) -> LoginRequest:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            raw: Any = dict(await request.form())
        else:
            raw = await request.json()
        return LoginRequest.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors() if e["loc"])
        raise UnprocessableEntity(_("email and password are required (%(fields)s)", fields=fields)) from exc
    except ValueError as exc:
        raise UnprocessableEntity(_("Send email and password as JSON or as a form")) from exc


async def _check_login_rate(runtime: Runtime, request: Request, email: str) -> None:
    settings = runtime.settings
    origin = request_origin(request)
    for key in (f"login:ip:{origin.ip}", f"login:email:{email.strip().lower()}"):
        wait = await runtime.rate_limiter.hit(key, settings.login_max_attempts, settings.login_window_seconds)
        if wait is not None:
            raise TooManyRequests(
                _("Too many login attempts. Try again in %(wait)s seconds.", wait=wait), retry_after=wait
            )


async def _login(request: Request, session: AsyncSession, runtime: Runtime, kind: SessionKind) -> service.LoginResult:
    credentials = await _read_credentials(request)
    await _check_login_rate(runtime, request, credentials.email)
    return await service.login(
        session,
        runtime.settings,
        email=credentials.email,
        password=credentials.password,
        kind=kind,
        origin=request_origin(request),
    )


def _token_pair(runtime: Runtime, result: service.LoginResult) -> TokenPair:
    return TokenPair(
        access_token=service.access_token_for(runtime.settings, result),
        refresh_token=result.secret,
        expires_in=runtime.settings.access_token_ttl_seconds,
    )


@router.post("/auth/login", response_model=TokenPair, openapi_extra=_CREDENTIALS_BODY)
async def login(request: Request, session: DbSession, runtime: RuntimeDep) -> TokenPair:
    """Exchange email and password (JSON or form) for an access token and a refresh token."""
    return _token_pair(runtime, await _login(request, session, runtime, SessionKind.api))


@router.post("/auth/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, request: Request, session: DbSession, runtime: RuntimeDep) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    result = await service.refresh(
        session, runtime.settings, refresh_token=body.refresh_token, origin=request_origin(request)
    )
    return _token_pair(runtime, result)


@router.post("/auth/session", response_model=WebSession, openapi_extra=_CREDENTIALS_BODY)
async def web_login(request: Request, response: Response, session: DbSession, runtime: RuntimeDep) -> WebSession:
    """Web UI login: sets an HTTP-only session cookie and a CSRF cookie to echo in `X-CSRF-Token`."""
    result = await _login(request, session, runtime, SessionKind.web)
    settings = runtime.settings
    csrf = csrf_token_for(runtime, result.secret)
    max_age = settings.refresh_token_ttl_seconds
    secure = settings.base_url.startswith("https://")
    response.set_cookie(
        settings.session_cookie_name, result.secret, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(settings.csrf_cookie_name, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure)
    return WebSession(csrf_token=csrf, expires_at=result.session.expires_at)


@router.post("/auth/logout", status_code=204)
async def logout(principal: CurrentPrincipal, request: Request, session: DbSession, runtime: RuntimeDep) -> Response:
    """End the current login (web cookie or access token's session)."""
    response = Response(status_code=204)
    if principal.auth_session is not None:
        await service.logout(session, principal.auth_session, origin=request_origin(request))
    response.delete_cookie(runtime.settings.session_cookie_name)
    response.delete_cookie(runtime.settings.csrf_cookie_name)
    return response


@router.get("/profile", response_model=Profile)
async def get_profile(principal: CurrentPrincipal, user: CurrentUser, session: DbSession, runtime: RuntimeDep) -> Profile:
    """The signed-in user with their accounts and personal API token (Chatwoot's profile)."""
    memberships = await UserRepository(session).memberships(user.id)
    # A narrower token (scoped, or limited to one account) must not hand out the user's full personal one.
    narrower = principal.token is not None and not principal.token.is_personal
    token = None if narrower else await service.personal_token_plaintext(session, user, cipher=runtime.cipher)
    return profile(user, memberships, token)


@router.put("/profile", response_model=Profile)
@router.patch("/profile", response_model=Profile, include_in_schema=False)
async def update_profile(
    changes: ProfileUpdate, request: Request, principal: CurrentPrincipal, user: CurrentUser, session: DbSession,
    runtime: RuntimeDep,
) -> Profile:
    """Change name, language, signature, availability in an account, or password (needs the current one)."""
    await service.update_profile(session, user, changes, origin=request_origin(request))
    return await get_profile(principal, user, session, runtime)


@account_router.get("/audit_logs", response_model=AuditLogPage)
async def list_audit_logs(
    ctx: Annotated[AccountContext, Depends(authorize("account:read", admin=True))],
    session: DbSession,
    page: PageNumber = 1,
) -> AuditLogPage:
    """Security-relevant actions in the account, newest first (administrators only)."""
    repository = AuditEventRepository(session, ctx.account_id)
    statement = repository.select().order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    rows = await repository.list(paginate(statement, page, AUDIT_PAGE_SIZE))
    return AuditLogPage(
        payload=[AuditEventOut.model_validate(row, from_attributes=True) for row in rows],
        meta={"current_page": page, "per_page": AUDIT_PAGE_SIZE},
    )
