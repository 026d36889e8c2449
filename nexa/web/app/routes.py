"""The agent app's pages under /app: login, account picker, inbox. Data comes from the API, not from here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nexa.auth.dependencies import DbSession
from nexa.web.app.pages import (
    AppPageDep,
    PageUser,
    active_memberships,
    brand_for_host,
    page_for,
    render,
)

router = APIRouter(prefix="/app", include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path of this app: `next=https://evil.example` or `//evil.example` must not leave the site."""
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app"


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, session: DbSession, next: Annotated[str | None, Query(max_length=2048)] = None
) -> HTMLResponse:
    account = await brand_for_host(session, request.headers.get("host"))
    page = page_for(request, None, [], account)
    return render(request, page, "app/login.html", next_url=safe_next(next))


@router.get("", response_class=HTMLResponse)
async def home(request: Request, session: DbSession, user: PageUser) -> Response:
    """One account: straight to its inbox. Several: pick one. None: say so instead of an empty inbox."""
    memberships = await active_memberships(session, user)
    if len(memberships) == 1:
        return RedirectResponse(f"/app/accounts/{memberships[0].account_id}/conversations", status_code=303)
    page = page_for(request, user, memberships, None)
    return render(request, page, "app/accounts.html")


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
async def account_home(page: AppPageDep) -> Response:
    assert page.account is not None
    return RedirectResponse(f"/app/accounts/{page.account.id}/conversations", status_code=303)


@router.get("/accounts/{account_id}/conversations", response_class=HTMLResponse)
async def inbox_page(request: Request, page: AppPageDep) -> HTMLResponse:
    return render(request, page, "app/inbox.html", config={"conversationDisplayId": None})


@router.get("/accounts/{account_id}/conversations/{display_id}", response_class=HTMLResponse)
async def conversation_page(request: Request, page: AppPageDep, display_id: int) -> HTMLResponse:
    # The same page as the list: the script opens this conversation (and the URL stays shareable).
    return render(request, page, "app/inbox.html", config={"conversationDisplayId": display_id})
