"""Pages served to browsers, and the static assets they use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from nexa.auth.dependencies import DbSession
from nexa.channels.web_widget.service import public_inbox
from nexa.channels.web_widget.serializers import widget_inbox
from nexa.kit.errors import NotFound
from nexa.tenancy.models import Account
from nexa.web.app.i18n import supported

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def pick_locale(requested: str | None, fallback: str) -> str:
    """The visitor's language when Nexa speaks it (pt, pt-PT and pt-BR all get pt-BR), else the inbox's."""
    return supported(requested) or supported(fallback) or fallback


@router.get("/")
async def root() -> RedirectResponse:
    # The address `nexa serve` prints and people type: the agent app (login first when signed out).
    return RedirectResponse("/app", status_code=303)


@router.get("/widget/sdk.js")
async def widget_sdk() -> FileResponse:
    # Short cache: the embed line stays the same for years, the script behind it must be able to change.
    return FileResponse(STATIC_DIR / "widget" / "sdk.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/widget", response_class=HTMLResponse)
async def widget_page(
    request: Request,
    session: DbSession,
    website_token: Annotated[str, Query(max_length=64)],
    locale: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    inbox = await public_inbox(session, website_token)
    account = await session.get(Account, inbox.account_id)
    if account is None or not account.is_active:
        raise NotFound()
    settings = widget_inbox(inbox, account)
    return templates.TemplateResponse(
        request,
        "widget.html",
        {
            "inbox": settings,
            "inbox_json": settings.model_dump_json().replace("</", "<\\/"),
            "locale": pick_locale(locale, settings.locale),
        },
    )
