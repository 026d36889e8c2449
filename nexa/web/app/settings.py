"""Settings pages for administrators under /app/accounts/{account_id}/settings/...

Each page renders its forms and the fixed choices (channel kinds, webhook events, token scopes); the
records come from the API and every change goes through it (`static/app/settings/*.js`), so the settings
screens enforce exactly the rules API clients meet. Agents are sent back to the inbox (the API refuses
them anyway); another account's pages go back to the account picker, as every app page does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nexa.auth.models import Role
from nexa.auth.scopes import SCOPES
from nexa.inboxes.models import ChannelType
from nexa.kit.i18n import SUPPORTED_LOCALES
from nexa.web.app.pages import AppPage, AppPageDep, render
from nexa.webhooks.service import ALLOWED_EVENTS, DEFAULT_SUBSCRIPTIONS

router = APIRouter(prefix="/app/accounts/{account_id}/settings", include_in_schema=False)


@dataclass(frozen=True)
class Section:
    slug: str
    title: str  # msgid, translated in the template


SECTIONS = (
    Section("account", "Account"),
    Section("inboxes", "Inboxes"),
    Section("agents", "Agents"),
    Section("teams", "Teams"),
    Section("labels", "Labels"),
    Section("canned_responses", "Canned responses"),
    Section("webhooks", "Webhooks"),
    Section("branding", "Branding"),
    Section("tokens", "API tokens"),
)
# Each language in its own words: whoever reads the list finds theirs, whatever the page's language.
LOCALE_NAMES = {"pt-BR": "Português (Brasil)", "es": "Español", "en": "English"}
assert set(LOCALE_NAMES) == set(SUPPORTED_LOCALES)
# msgids of each channel's name, in the order the create form offers them.
CHANNEL_NAMES = {
    ChannelType.whatsapp_cloud.value: "WhatsApp Cloud API",
    ChannelType.evolution.value: "WhatsApp (Evolution API)",
    ChannelType.telegram.value: "Telegram",
    ChannelType.web_widget.value: "Web chat",
    ChannelType.api.value: "API",
}


async def _admin_page(page: AppPageDep) -> AppPage:
    if not page.is_admin:
        assert page.account is not None
        raise HTTPException(status_code=303, headers={"Location": f"/app/accounts/{page.account.id}/conversations"})
    return page


AdminPage = Annotated[AppPage, Depends(_admin_page)]


# Pages of one record highlight their list in the settings menu.
_LIST_OF = {"inbox": "inboxes", "webhook": "webhooks"}


def _settings(request: Request, page: AppPage, section: str, **context: object) -> HTMLResponse:
    config = {"section": section, **context.pop("config", {})}  # type: ignore[dict-item]
    current = next(s for s in SECTIONS if s.slug == _LIST_OF.get(section, section))
    return render(request, page, f"app/settings/{section}.html", nav="settings", sections=SECTIONS,
                  section=section, current=current, config=config, **context)


@router.get("", response_class=HTMLResponse)
async def settings_home(page: AdminPage) -> Response:
    assert page.account is not None
    return RedirectResponse(f"/app/accounts/{page.account.id}/settings/inboxes", status_code=303)


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "account", locales=LOCALE_NAMES, timezones=sorted(available_timezones()))


@router.get("/inboxes", response_class=HTMLResponse)
async def inboxes_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "inboxes", channel_types=list(CHANNEL_NAMES), channel_names=CHANNEL_NAMES,
                     config={"baseUrl": _base_url(request), "channelNames": CHANNEL_NAMES})


@router.get("/inboxes/{inbox_id}", response_class=HTMLResponse)
async def inbox_page(request: Request, page: AdminPage, inbox_id: int) -> HTMLResponse:
    # The API answers 404 for another account's inbox; the page then says so.
    return _settings(request, page, "inbox",
                     config={"inboxId": inbox_id, "baseUrl": _base_url(request), "channelNames": CHANNEL_NAMES})


@router.get("/agents", response_class=HTMLResponse)
async def agents_page(request: Request, page: AdminPage) -> HTMLResponse:
    # Agent first (the usual invitation); only an owner may make owners.
    is_owner = page.membership is not None and page.membership.role == Role.owner
    roles = [Role.agent.value, Role.administrator.value] + ([Role.owner.value] if is_owner else [])
    return _settings(request, page, "agents", roles=roles)


@router.get("/teams", response_class=HTMLResponse)
async def teams_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "teams")


@router.get("/labels", response_class=HTMLResponse)
async def labels_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "labels")


@router.get("/canned_responses", response_class=HTMLResponse)
async def canned_responses_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "canned_responses")


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "webhooks", events=ALLOWED_EVENTS, default_events=DEFAULT_SUBSCRIPTIONS)


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
async def webhook_page(request: Request, page: AdminPage, webhook_id: int) -> HTMLResponse:
    return _settings(request, page, "webhook", events=ALLOWED_EVENTS, config={"webhookId": webhook_id})


@router.get("/branding", response_class=HTMLResponse)
async def branding_page(request: Request, page: AdminPage) -> HTMLResponse:
    assert page.account is not None
    return _settings(request, page, "branding", branding=page.account.branding or {})


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(request: Request, page: AdminPage) -> HTMLResponse:
    return _settings(request, page, "tokens", scopes=sorted(SCOPES))


def _base_url(request: Request) -> str:
    """Nexa's public address, which providers and embedding sites are given."""
    return request.app.state.runtime.settings.base_url
