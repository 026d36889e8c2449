"""Who may call what: tokens, scopes, suspension, bots, refresh rotation, web cookie + CSRF, rate limit."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from nexa.agent_bots.models import AgentBot
from nexa.auth import service as auth_service
from nexa.auth.models import AuditEvent, Role, TokenOwner
from nexa.runtime import Runtime
from nexa.tenancy import service as tenancy_service
from nexa.tenancy.models import Account, AccountStatus
from tests.factories import PASSWORD, make_account, make_member


async def test_missing_and_bad_tokens_get_401(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    url = f"/api/v1/accounts/{member.account.id}"
    assert (await client.get(url)).status_code == 401
    for headers in (
        {"api_access_token": "nope"},
        {"api_access_token": member.token[:-1] + ("A" if member.token[-1] != "A" else "B")},
        {"Authorization": "Bearer not.a.jwt"},
    ):
        response = await client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid Access Token"}
    assert (await client.get(url, headers=member.headers)).status_code == 200


async def test_scoped_token_is_limited_to_its_scopes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime, scopes=["account:read"])
    url = f"/api/v1/accounts/{member.account.id}"
    assert (await client.get(url, headers=member.headers)).status_code == 200
    denied = await client.patch(url, headers=member.headers, json={"name": "Renamed"})
    assert denied.status_code == 401
    assert denied.json() == {"error": "You are not authorized to do this action"}


async def test_unknown_scope_is_refused(runtime: Runtime) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        try:
            await auth_service.create_api_token(
                session, owner_type=TokenOwner.user, owner_id=member.user.id, name="x", scopes=["everything"]
            )
        except Exception as exc:
            assert "unknown scopes: everything" in str(exc)
        else:
            raise AssertionError("an unknown scope was accepted")


async def test_agents_cannot_change_account_settings(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    url = f"/api/v1/accounts/{admin.account.id}"
    assert (await client.patch(url, headers=agent.headers, json={"name": "X"})).status_code == 401
    changed = await client.patch(
        url, headers=admin.headers, json={"name": "Loja da Ana", "branding": {"primary_color": "#112233"}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Loja da Ana"
    assert changed.json()["branding"]["primary_color"] == "#112233"
    invalid = await client.patch(url, headers=admin.headers, json={"timezone": "Mars/Olympus"})
    assert invalid.status_code == 422
    assert "timezone" in invalid.json()["error"]


async def test_other_accounts_and_suspended_accounts_are_closed(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    other = await make_account(runtime)
    response = await client.get(f"/api/v1/accounts/{other.id}", headers=member.headers)
    assert response.status_code == 401
    assert response.json() == {"error": "You are not authorized to access this account"}
    assert (await client.get("/api/v1/accounts/999999", headers=member.headers)).status_code == 401

    async with runtime.db.session() as session:
        account = await session.get(Account, member.account.id)
        assert account is not None
        await tenancy_service.set_status(session, account, AccountStatus.suspended, actor_user_id=None)
    suspended = await client.get(f"/api/v1/accounts/{member.account.id}", headers=member.headers)
    assert suspended.status_code == 401
    assert suspended.json() == {"error": "Account is suspended"}


async def test_agent_bot_tokens_reach_only_bot_endpoints(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        bot = AgentBot(account_id=member.account.id, name="Typebot")
        session.add(bot)
        await session.flush()
        _, token = await auth_service.create_api_token(
            session, owner_type=TokenOwner.agent_bot, owner_id=bot.id, name="bot", account_id=member.account.id
        )
    response = await client.get(f"/api/v1/accounts/{member.account.id}", headers={"api_access_token": token})
    assert response.status_code == 401
    assert response.json() == {"error": "Access to this endpoint is not authorized for bots"}
    assert (await client.get("/api/v1/profile", headers={"api_access_token": token})).status_code == 401


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_login(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    member = await make_member(runtime)
    first = (await client.post("/api/v1/auth/login", json={"email": member.user.email, "password": PASSWORD})).json()
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/v1/profile", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200

    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # The thief's replay revoked the whole family, including the legitimate newer session.
    after = await client.get("/api/v1/profile", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert after.status_code == 401
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401


async def test_logout_ends_an_access_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    pair = (await client.post("/api/v1/auth/login", json={"email": member.user.email, "password": PASSWORD})).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/profile", headers=headers)).status_code == 401


async def test_web_session_cookie_requires_csrf_for_changes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    login = await client.post("/api/v1/auth/session", data={"email": member.user.email, "password": PASSWORD})
    assert login.status_code == 200
    set_cookie = login.headers.get_list("set-cookie")
    assert any("nexa_session=" in c and "HttpOnly" in c for c in set_cookie)
    csrf = login.json()["csrf_token"]
    url = f"/api/v1/accounts/{member.account.id}"

    assert (await client.get(url)).status_code == 200
    without = await client.patch(url, json={"name": "Nope"})
    assert without.status_code == 401
    assert without.json() == {"error": "Missing or invalid CSRF token"}
    with_csrf = await client.patch(url, json={"name": "Yes"}, headers={"X-CSRF-Token": csrf})
    assert with_csrf.status_code == 200

    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    client.cookies.clear()
    assert (await client.get(url)).status_code == 401


async def test_login_is_rate_limited_and_audited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    limit = runtime.settings.login_max_attempts
    for _ in range(limit):
        response = await client.post("/api/v1/auth/login", json={"email": member.user.email, "password": "wrong"})
        assert response.status_code == 401
    blocked = await client.post("/api/v1/auth/login", json={"email": member.user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many login attempts" in blocked.json()["error"]

    async with runtime.db.session(write=False) as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert actions.count("login.failed") == limit


async def test_admins_read_the_account_audit_log(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    await client.patch(f"/api/v1/accounts/{admin.account.id}", headers=admin.headers, json={"name": "Renamed"})
    log = await client.get(f"/api/v1/accounts/{admin.account.id}/audit_logs", headers=admin.headers)
    assert log.status_code == 200
    entries = log.json()["payload"]
    assert entries[0]["action"] == "account.updated"
    assert entries[0]["actor_user_id"] == admin.user.id
    assert entries[0]["details"] == {"fields": ["name"]}
    denied = await client.get(f"/api/v1/accounts/{admin.account.id}/audit_logs", headers=agent.headers)
    assert denied.status_code == 401
