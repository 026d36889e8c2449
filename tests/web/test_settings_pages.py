"""Settings pages: administrators only, their own account only, every section renders in every language."""

from __future__ import annotations

import re

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from nexa.tenancy.models import Account
from nexa.web.app.settings import SECTIONS
from tests.factories import make_account, make_member
from tests.web.conftest import sign_in
from tests.web.test_app_pages import page_config

PAGES = [f"/{s.slug}" for s in SECTIONS] + ["/inboxes/1", "/webhooks/1"]


async def test_every_section_renders_for_an_administrator(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    await sign_in(client, admin)
    base = f"/app/accounts/{admin.account.id}/settings"
    home = await client.get(base)
    assert home.status_code == 303 and home.headers["location"] == f"{base}/inboxes"
    for path in PAGES:
        response = await client.get(base + path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["cache-control"] == "no-store"
        section = page_config(response.text)["section"]
        # Each page loads its own script, which exists, and marks its list in the settings menu.
        assert f'src="/static/app/settings/{section}.js"' in response.text
        assert (await client.get(f"/static/app/settings/{section}.js")).status_code == 200
        listed_in = "/" + path.split("/")[1]  # /inboxes/1 is one of /inboxes
        assert re.search(rf'href="{base}{listed_in}"\s+aria-current="page"', response.text), path


async def test_agents_are_sent_back_to_the_inbox(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    await sign_in(client, agent)
    for path in ["", *PAGES]:
        response = await client.get(f"/app/accounts/{admin.account.id}/settings{path}")
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/app/accounts/{admin.account.id}/conversations"


async def test_other_accounts_and_signed_out_visitors_get_no_settings(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    stranger = await make_account(runtime)
    signed_out = await client.get(f"/app/accounts/{admin.account.id}/settings/branding")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/app/login?next=")
    await sign_in(client, admin)
    for account_id in (stranger.id, 999999):
        response = await client.get(f"/app/accounts/{account_id}/settings/branding")
        assert response.status_code == 303 and response.headers["location"] == "/app"
    # A record page of another account's id renders the frame; the API it calls answers 404 (see the
    # isolation matrix), so nothing of the other account reaches the page.
    page = await client.get(f"/app/accounts/{admin.account.id}/settings/inboxes/999999")
    assert page.status_code == 200 and page_config(page.text)["inboxId"] == 999999


async def test_branding_page_escapes_the_stored_brand_and_speaks_portuguese(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    async with runtime.db.session() as session:
        account = await session.get(Account, admin.account.id)
        assert account is not None
        account.branding = {"product_name": '"><script>alert(1)</script>', "primary_color": "#aa3300"}
    await sign_in(client, admin)
    page = await client.get(f"/app/accounts/{admin.account.id}/settings/branding",
                            headers={"Accept-Language": "pt-BR"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'name="branding.primary_color" type="color" value="#aa3300"' in page.text
    assert "Marca" in page.text and "Pré-visualização" in page.text
    config = page_config(page.text)
    assert config["messages"]["Copy"] == "Copiar"


async def test_settings_pages_use_the_selected_language(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    await sign_in(client, admin)
    base = f"/app/accounts/{admin.account.id}/settings"
    spanish = await client.get(f"{base}/inboxes", headers={"Accept-Language": "es"})
    assert "Bandejas de entrada" in spanish.text and "Nueva bandeja de entrada" in spanish.text
    english = await client.get(f"{base}/webhooks", headers={"Accept-Language": "en"})
    assert "New webhook" in english.text and 'value="message_created"' in english.text


async def test_invited_user_chooses_a_password_on_the_accounts_branded_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    async with runtime.db.session() as session:
        account = await session.get(Account, admin.account.id)
        assert account is not None
        account.branding = {"product_name": "Atende Já"}
    invited = await client.post(f"/api/v1/accounts/{admin.account.id}/agents", headers=admin.headers,
                                json={"name": "Bia", "email": "bia@example.com"})
    token = invited.json()["invitation_url"].rsplit("/", 1)[1]

    page = await client.get(f"/app/invitations/{token}", headers={"Accept-Language": "pt-BR"})
    assert page.status_code == 200
    assert "Atende Já" in page.text and "Escolha uma senha" in page.text and "Nexa" not in page.text
    assert page_config(page.text)["invitationToken"] == token
    # The page's form posts to the API; once used, the link is dead and the page says so.
    accepted = await client.post(f"/api/v1/auth/invitations/{token}",
                                 json={"password": "a long enough secret", "password_confirmation": "a long enough secret"})
    assert accepted.status_code == 200
    used = await client.get(f"/app/invitations/{token}")
    assert used.status_code == 404 and "invalid or has expired" in used.text
    assert (await client.get("/app/invitations/not-a-token")).status_code == 404
