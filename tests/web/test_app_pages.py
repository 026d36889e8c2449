"""The agent app's page routes: sign-in redirects, account choice, language, brand, escaping."""

from __future__ import annotations

import json
import re

import httpx

from nexa.auth import service as auth_service
from nexa.auth.models import Role, User
from nexa.runtime import Runtime
from nexa.tenancy.models import Account
from tests.factories import make_account, make_member
from tests.web.conftest import sign_in


def page_config(html: str) -> dict:
    found = re.search(r'<script id="app-config" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))


async def test_pages_redirect_to_login_and_come_back(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    target = f"/app/accounts/{member.account.id}/conversations?status=open"
    response = await client.get(target)
    assert response.status_code == 303
    assert response.headers["location"] == f"/app/login?next=/app/accounts/{member.account.id}/conversations%3Fstatus%3Dopen"
    # An API token is not a page login.
    assert (await client.get(target, headers=member.headers)).status_code == 303

    login = await client.get(response.headers["location"])
    assert login.status_code == 200
    assert 'data-next="/app/accounts/' in login.text

    await sign_in(client, member)
    page = await client.get(target)
    assert page.status_code == 200
    config = page_config(page.text)
    assert config["accountId"] == member.account.id and config["userId"] == member.user.id
    assert page.headers["cache-control"] == "no-store"


async def test_the_site_root_opens_the_agent_app(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/app"


async def test_login_page_never_sends_users_to_another_site(client: httpx.AsyncClient) -> None:
    for evil in ("https://evil.example/app", "//evil.example/app", "/api/v1/profile"):
        page = await client.get("/app/login", params={"next": evil})
        assert 'data-next="/app"' in page.text


async def test_expired_or_logged_out_session_redirects(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    await sign_in(client, member)
    csrf = client.cookies["nexa_csrf"]
    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    client.cookies.set("nexa_session", "not-a-session")
    assert (await client.get(f"/app/accounts/{member.account.id}/conversations")).status_code == 303


async def test_one_account_goes_straight_to_its_inbox_several_get_a_picker(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    member = await make_member(runtime)
    await sign_in(client, member)
    home = await client.get("/app")
    assert home.status_code == 303
    assert home.headers["location"] == f"/app/accounts/{member.account.id}/conversations"

    other = await make_account(runtime, name="Second <b>shop</b>")
    async with runtime.db.session() as session:
        user = await session.get(User, member.user.id)
        await auth_service.add_member(session, other, user, Role.agent)
    picker = await client.get("/app")
    assert picker.status_code == 200
    assert f'href="/app/accounts/{other.id}/conversations"' in picker.text
    assert "Second &lt;b&gt;shop&lt;/b&gt;" in picker.text
    # The switcher in the shell lists both accounts.
    inbox = await client.get(f"/app/accounts/{other.id}/conversations")
    assert 'data-action="switch-account"' in inbox.text


async def test_account_of_someone_else_goes_back_to_the_picker(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    stranger = await make_account(runtime)
    await sign_in(client, member)
    response = await client.get(f"/app/accounts/{stranger.id}/conversations")
    assert response.status_code == 303 and response.headers["location"] == "/app"
    assert (await client.get("/app/accounts/999999/conversations")).status_code == 303


async def test_settings_link_only_for_administrators(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    settings_link = f'href="/app/accounts/{admin.account.id}/settings"'
    await sign_in(client, admin)
    assert settings_link in (await client.get(f"/app/accounts/{admin.account.id}/conversations")).text
    client.cookies.clear()
    await sign_in(client, agent)
    page = await client.get(f"/app/accounts/{admin.account.id}/conversations")
    assert page.status_code == 200 and settings_link not in page.text


async def test_locale_is_the_users_then_the_browsers_then_the_accounts(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        account = await session.get(Account, member.account.id)
        account.locale = "es"
    await sign_in(client, member)
    url = f"/app/accounts/{member.account.id}/conversations"

    spanish = await client.get(url, headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="es">' in spanish.text and "Conversaciones" in spanish.text

    english = await client.get(url, headers={"Accept-Language": "fr;q=0.9, en-GB;q=0.8"})
    assert '<html lang="en">' in english.text and ">Conversations<" in english.text

    async with runtime.db.session() as session:
        user = await session.get(User, member.user.id)
        user.locale = "pt-BR"
    portuguese = await client.get(url, headers={"Accept-Language": "en"})
    assert '<html lang="pt-BR">' in portuguese.text and "Conversas" in portuguese.text
    config = page_config(portuguese.text)
    assert config["locale"] == "pt-BR" and config["timezone"] == "America/Sao_Paulo"
    assert config["messages"]["Log out"] == "Sair"


async def test_brand_replaces_the_product_name_and_colors(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    url = f"/app/accounts/{member.account.id}/conversations"
    await sign_in(client, member)
    assert "Nexa" in (await client.get(url)).text

    async with runtime.db.session() as session:
        account = await session.get(Account, member.account.id)
        account.branding = {"product_name": "Atende</script>Já", "primary_color": "#aa3300",
                            "logo_url": "https://cdn.example/logo.png", "favicon_url": "https://cdn.example/f.ico"}
        account.custom_domain = "atende.example"
    page = (await client.get(url)).text
    assert "Nexa" not in page
    assert "--brand-primary: #aa3300" in page
    assert 'href="https://cdn.example/f.ico"' in page and 'src="https://cdn.example/logo.png"' in page
    assert "Atende&lt;/script&gt;Já" in page

    # The login page on the account's own domain wears its brand too.
    client.cookies.clear()
    login = (await client.get("/app/login", headers={"Host": "atende.example"})).text
    assert "Nexa" not in login and "--brand-primary: #aa3300" in login


async def test_names_cannot_break_out_of_the_page_config(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        user = await session.get(User, member.user.id)
        user.name = "Ana</script><script>alert(1)</script>"
    await sign_in(client, member)
    page = (await client.get(f"/app/accounts/{member.account.id}/conversations")).text
    assert "</script><script>alert(1)" not in page  # neither in the top bar (escaped) nor in the JSON (<\/)
    assert page_config(page)["userName"] == "Ana</script><script>alert(1)</script>"
