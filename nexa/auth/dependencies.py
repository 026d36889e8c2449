"""Who is calling, and may they do this here.

Endpoints declare their needs once, e.g. `ctx: Annotated[AccountContext, Depends(authorize("contacts:write"))]`.
Credentials, in order: `api_access_token` header (Chatwoot), `Authorization: Bearer` (API token or login
access token), on WebSockets only the `token` query parameter (browsers cannot set headers there), then the
web session cookie (unsafe methods must echo the CSRF cookie in `X-CSRF-Token`; a WebSocket must come from
our own origin). HTTP routes and the realtime WebSocket share `authenticate()` and `resolve_account()`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from nexa.agent_bots.models import AgentBot
from nexa.auth import service
from nexa.auth.audit import RequestOrigin
from nexa.auth.models import AccessToken, AccountUser, AuthSession, TokenOwner, User
from nexa.auth.repository import MembershipRepository, UserRepository
from nexa.auth.scopes import grants
from nexa.auth.tokens import decode_access_token, looks_like_jwt
from nexa.auth.touches import token_touches
from nexa.db.engine import after_commit
from nexa.kit.crypto import constant_time_equals, sign
from nexa.kit.errors import Forbidden, NexaError, Unauthorized
from nexa.kit.lazy_text import _
from nexa.kit.logging import account_id_var
from nexa.runtime import Runtime
from nexa.tenancy.models import Account

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_runtime(request).db.session(write=request.method not in SAFE_METHODS) as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a failed commit is an error
# response, never a 200 for data that was not stored.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
async def _runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain-def dependency in its thread pool, a thread hop on every request.
    return get_runtime(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def request_origin(request: Request) -> RequestOrigin:
    return RequestOrigin(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )


@dataclass
class Principal:
    via: Literal["api_token", "access_token", "cookie"]
    user: User | None = None
    agent_bot: AgentBot | None = None
    token: AccessToken | None = None
    auth_session: AuthSession | None = None

    @property
    def scopes(self) -> list[str] | None:
        return self.token.scopes if self.token is not None else None

    @property
    def expires_at(self) -> datetime | None:
        """When the credential stops working by itself (the token's or session's expiry), if it does."""
        ends = [c.expires_at for c in (self.token, self.auth_session) if c is not None and c.expires_at is not None]
        return min(ends) if ends else None


class BotNotAllowed(NexaError):
    status_code = 401
    default_message = _("Access to this endpoint is not authorized for bots")


def csrf_token_for(runtime: Runtime, cookie_value: str) -> str:
    return sign(runtime.settings.secret_key, f"csrf:{cookie_value}")


def presented_token(connection: HTTPConnection) -> str | None:
    """The API or access token the client sent, if any."""
    header_token = connection.headers.get("api_access_token") or connection.headers.get("api-access-token")
    authorization = connection.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    # Only on WebSockets: an HTTP URL with a token ends up in logs and browser history for no reason.
    query = connection.query_params.get("token") if connection.scope["type"] == "websocket" else None
    return (header_token or bearer or query or "").strip() or None


async def authenticate(connection: HTTPConnection, session: AsyncSession, runtime: Runtime) -> Principal:
    """Who is calling, for an HTTP request or a WebSocket handshake; raises Unauthorized."""
    token = presented_token(connection)
    if token:
        return await _principal_from_token(session, runtime, token)
    cookie = connection.cookies.get(runtime.settings.session_cookie_name)
    if cookie:
        return await _principal_from_cookie(connection, session, runtime, cookie)
    raise Unauthorized(_("You need to sign in or sign up before continuing."))


def socket_credential(connection: HTTPConnection, runtime: Runtime) -> str:
    """The credential a WebSocket handshake presents (same order as `authenticate`), with what can be checked
    without the database already checked: an access JWT's signature and expiry, a cookie's Origin. The
    realtime socket uses it as the key of its sign-in cache (nexa/realtime/peers.py); raises Unauthorized."""
    token = presented_token(connection)
    if token:
        if looks_like_jwt(token) and decode_access_token(runtime.settings, token) is None:
            raise Unauthorized()
        return token
    cookie = connection.cookies.get(runtime.settings.session_cookie_name)
    if cookie:
        _check_socket_origin(connection, runtime)
        return cookie
    raise Unauthorized(_("You need to sign in or sign up before continuing."))


async def _principal(request: Request, session: DbSession, runtime: RuntimeDep) -> Principal:
    principal = await authenticate(request, session, runtime)
    # The language of this request's error messages (nexa/app.py): the signed-in user's own setting.
    request.state.user_locale = principal.user.locale if principal.user is not None else None
    return principal


async def _principal_from_token(session: AsyncSession, runtime: Runtime, token: str) -> Principal:
    if looks_like_jwt(token):
        decoded = decode_access_token(runtime.settings, token)
        if decoded is None:
            raise Unauthorized()
        user_id, session_id = decoded
        auth_session = await service.find_live_session(session, session_id)
        user = await UserRepository(session).get(user_id)
        if auth_session is None or auth_session.user_id != user_id or user is None or not user.is_active:
            raise Unauthorized()
        return Principal(via="access_token", user=user, auth_session=auth_session)

    api_token = await service.find_api_token(session, token)
    if api_token is None:
        raise Unauthorized()
    if service.should_touch(api_token):
        after_commit(session, functools.partial(token_touches(runtime).touch, api_token.id))
    if api_token.owner_type == TokenOwner.agent_bot:
        bot = await session.get(AgentBot, api_token.owner_id)
        if bot is None:
            raise Unauthorized()
        return Principal(via="api_token", agent_bot=bot, token=api_token)
    user = await UserRepository(session).get(api_token.owner_id)
    if user is None or not user.is_active:
        raise Unauthorized()
    return Principal(via="api_token", user=user, token=api_token)


async def _principal_from_cookie(
    connection: HTTPConnection, session: AsyncSession, runtime: Runtime, cookie: str
) -> Principal:
    auth_session = await service.find_web_session(session, cookie)
    if auth_session is None:
        raise Unauthorized(_("Your session has expired. Please sign in again."))
    _check_not_cross_site(connection, runtime, cookie)
    user = await UserRepository(session).get(auth_session.user_id)
    if user is None or not user.is_active:
        raise Unauthorized()
    return Principal(via="cookie", user=user, auth_session=auth_session)


def _check_not_cross_site(connection: HTTPConnection, runtime: Runtime, cookie: str) -> None:
    """Browsers send the cookie with requests other sites trigger: refuse those (CSRF, WebSocket hijacking)."""
    if connection.scope["type"] == "websocket":
        _check_socket_origin(connection, runtime)
        return
    if connection.scope["method"] not in SAFE_METHODS:
        sent = connection.headers.get(CSRF_HEADER, "")
        if not sent or not constant_time_equals(sent, csrf_token_for(runtime, cookie)):
            raise Unauthorized(_("Missing or invalid CSRF token"))


def _check_socket_origin(connection: HTTPConnection, runtime: Runtime) -> None:
    # No CSRF header is possible on a WebSocket handshake; browsers always send Origin, so it must be ours.
    origin = connection.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc not in _own_hosts(connection, runtime):
        raise Unauthorized(_("Cross-origin WebSocket refused"))


def _own_hosts(connection: HTTPConnection, runtime: Runtime) -> set[str]:
    hosts = {urlsplit(runtime.settings.base_url).netloc}
    if host := connection.headers.get("host"):
        hosts.add(host)
    return hosts


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


async def _current_user(principal: CurrentPrincipal) -> User:
    if principal.user is None:
        raise BotNotAllowed()
    return principal.user


CurrentUser = Annotated[User, Depends(_current_user)]


@dataclass
class AccountContext:
    """The account a request acts in, and who acts: a member user or the account's agent bot."""

    account: Account
    principal: Principal
    membership: AccountUser | None

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def user(self) -> User | None:
        return self.principal.user

    @property
    def agent_bot(self) -> AgentBot | None:
        return self.principal.agent_bot

    @property
    def is_admin(self) -> bool:
        return self.membership is not None and self.membership.role.is_admin


async def resolve_account(
    session: AsyncSession, principal: Principal, account_id: int, *, bots: bool
) -> AccountContext:
    """The account `principal` acts in: it must be a member (or the account's own bot) of an active account."""
    account = await session.get(Account, account_id)
    membership: AccountUser | None = None
    # A token made in one account's settings opens only that account, whatever else its user may reach.
    if principal.token is not None and principal.token.account_id not in (None, account_id):
        raise Unauthorized(_("You are not authorized to access this account"))
    if principal.agent_bot is not None:
        if account is None or principal.agent_bot.account_id != account_id:
            raise Unauthorized(_("You are not authorized to access this account"))
        if not bots:
            raise BotNotAllowed()
    else:
        assert principal.user is not None
        membership = (
            await MembershipRepository(session, account_id).get_for_user(principal.user.id)
            if account is not None
            else None
        )
        if account is None or membership is None:
            raise Unauthorized(_("You are not authorized to access this account"))
    if not account.is_active:
        raise Unauthorized(_("Account is suspended"))
    account_id_var.set(account.id)
    return AccountContext(account=account, principal=principal, membership=membership)


def authorize(
    scope: str, *, admin: bool = False, bots: bool = False
) -> Callable[..., Coroutine[Any, Any, AccountContext]]:
    """A dependency for routes under /accounts/{account_id}: membership, suspension, bot limits, scope, role."""

    async def dependency(
        principal: CurrentPrincipal,
        session: DbSession,
        account_id: Annotated[int, Path(description="The account's numeric id")],
    ) -> AccountContext:
        ctx = await resolve_account(session, principal, account_id, bots=bots)
        if not grants(principal.scopes, scope):
            raise Forbidden()
        if admin and not ctx.is_admin:
            raise Forbidden()
        return ctx

    return dependency
