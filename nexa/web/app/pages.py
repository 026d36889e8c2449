"""What every agent-app page needs: who is signed in, in which account, in which language and brand.

A page route declares `page: AppPageDep` (pages under `/app/accounts/{account_id}/...`) or `user: PageUser`
(pages before an account is chosen) and returns `render(request, page, "app/<name>.html", **context)`.
Not signed in (or the session expired) -> 303 to the login page, coming back afterwards; not a member of
the account -> 303 to the account picker. The API the page's scripts call does its own authorization.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import DbSession, RuntimeDep, authenticate
from nexa.auth.models import AccountUser, User
from nexa.auth.repository import UserRepository
from nexa.kit.errors import NexaError
from nexa.runtime import Runtime
from nexa.tenancy.models import Account
from nexa.web.app.i18n import Catalog, Formats, catalog, choose_locale

DEFAULT_PRODUCT_NAME = "Nexa"
DEFAULT_PRIMARY = "#1f6feb"
DEFAULT_ACCENT = "#0f9d58"
LOGIN_PATH = "/app/login"

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(pathlib.Path(__file__).parent.parent / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return context["catalog"].translations.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return context["catalog"].translations.ngettext(singular, plural, n)


# newstyle: `_("Hello %(name)s", name=x)` formats and escapes the variables (Jinja's i18n extension).
templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Brand:
    """The account's white-label look. Once any branding is set, the product is never called Nexa."""

    product_name: str
    logo_url: str | None
    favicon_url: str | None
    primary_color: str
    accent_color: str

    @classmethod
    def of(cls, account: Account | None) -> Brand:
        branding = (account.branding if account else None) or {}
        fallback_name = account.name if branding and account else DEFAULT_PRODUCT_NAME
        return cls(
            product_name=branding.get("product_name") or fallback_name,
            logo_url=branding.get("logo_url"),
            favicon_url=branding.get("favicon_url"),
            primary_color=branding.get("primary_color") or DEFAULT_PRIMARY,
            accent_color=branding.get("accent_color") or DEFAULT_ACCENT,
        )


@dataclass
class AppPage:
    """One rendered page: the viewer, their account (None before one is chosen), language and brand."""

    user: User | None  # None on the login page
    memberships: Sequence[AccountUser]
    locale: str
    catalog: Catalog
    brand: Brand
    account: Account | None = None
    membership: AccountUser | None = None

    @property
    def is_admin(self) -> bool:
        return self.membership is not None and self.membership.role.is_admin

    @property
    def formats(self) -> Formats:
        timezone = self.account.timezone if self.account else "UTC"
        return Formats(locale=self.locale, timezone=timezone)


def login_redirect(request: Request) -> HTTPException:
    """A 303 to the login page that brings the user back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(status_code=303, headers={"Location": f"{LOGIN_PATH}?next={quote(target, safe='/')}"})


async def _signed_in_user(request: Request, session: DbSession, runtime: RuntimeDep) -> User:
    # Pages only take the browser's session cookie; API tokens are for programs, not for page views.
    if not request.cookies.get(runtime.settings.session_cookie_name):
        raise login_redirect(request)
    try:
        principal = await authenticate(request, session, runtime)
    except NexaError:
        raise login_redirect(request) from None
    if principal.user is None:
        raise login_redirect(request)
    return principal.user


PageUser = Annotated[User, Depends(_signed_in_user)]


async def active_memberships(session: AsyncSession, user: User) -> list[AccountUser]:
    return [m for m in await UserRepository(session).memberships(user.id) if m.account.is_active]


def page_for(request: Request, user: User | None, memberships: Sequence[AccountUser], account: Account | None) -> AppPage:
    membership = next((m for m in memberships if account and m.account_id == account.id), None)
    locale = choose_locale(user.locale if user else None, request.headers.get("accept-language"),
                           account.locale if account else None)
    return AppPage(user=user, memberships=memberships, locale=locale, catalog=catalog(locale),
                   brand=Brand.of(account), account=account, membership=membership)


async def _account_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    account_id: Annotated[int, Path(description="The account's numeric id")],
) -> AppPage:
    memberships = await active_memberships(session, user)
    membership = next((m for m in memberships if m.account_id == account_id), None)
    if membership is None:
        raise HTTPException(status_code=303, headers={"Location": "/app"})
    return page_for(request, user, memberships, membership.account)


AppPageDep = Annotated[AppPage, Depends(_account_page)]


async def brand_for_host(session: AsyncSession, host: str | None) -> Account | None:
    """The account whose custom domain serves this request: its login page wears its brand."""
    if not host:
        return None
    domain = host.split(":")[0].lower()
    return await session.scalar(select(Account).where(Account.custom_domain == domain))


def browser_config(page: AppPage, runtime: Runtime, **extra: Any) -> str:
    """The JSON the page's scripts start from (`<script type="application/json" id="app-config">`)."""
    config = {
        "locale": page.locale,
        "timezone": page.account.timezone if page.account else "UTC",
        "accountId": page.account.id if page.account else None,
        "userId": page.user.id if page.user else None,
        "userName": page.user.available_name if page.user else None,
        "isAdmin": page.is_admin,
        "csrfCookie": runtime.settings.csrf_cookie_name,
        "messages": page.catalog.messages,
        **extra,
    }
    # "</" would end the <script> element early: a customer's text could close it and inject markup.
    return json.dumps(config, ensure_ascii=False).replace("</", "<\\/")


def render(request: Request, page: AppPage, template: str, **context: Any) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    config_extra = context.pop("config", {})
    return templates.TemplateResponse(
        request,
        template,
        {
            "page": page,
            "brand": page.brand,
            "catalog": page.catalog,
            "formats": page.formats,
            "config_json": browser_config(page, runtime, **config_extra),
            **context,
        },
        headers={"Cache-Control": "no-store"},
    )
