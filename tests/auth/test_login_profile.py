from __future__ import annotations

import httpx

from nexa.runtime import Runtime
from tests.factories import PASSWORD, make_member


async def test_login_then_profile_with_bearer_and_api_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime, email="ana@example.com")

    response = await client.post("/api/v1/auth/login", json={"email": "Ana@Example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]

    profile = await client.get("/api/v1/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert body["email"] == "ana@example.com"
    assert body["access_token"] == member.token
    assert body["accounts"] == [
        {**body["accounts"][0], "id": member.account.id, "name": member.account.name, "role": "administrator"}
    ]

    by_api_token = await client.get("/api/v1/profile", headers={"api_access_token": member.token})
    assert by_api_token.status_code == 200
    assert by_api_token.json()["id"] == body["id"]


async def test_login_accepts_form_and_rejects_bad_password(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_member(runtime, email="bia@example.com")
    ok = await client.post("/api/v1/auth/login", data={"email": "bia@example.com", "password": PASSWORD})
    assert ok.status_code == 200
    bad = await client.post("/api/v1/auth/login", json={"email": "bia@example.com", "password": "nope"})
    assert bad.status_code == 401
    assert bad.json() == {"error": "Invalid login credentials. Please try again."}
    missing = await client.post("/api/v1/auth/login", json={"email": "bia@example.com"})
    assert missing.status_code == 422


async def test_agent_sets_availability_and_changes_password(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    changed = await client.put(
        "/api/v1/profile",
        headers=member.headers,
        json={"profile": {"availability": "online", "account_id": member.account.id, "display_name": "Ana"}},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["available_name"] == "Ana"
    assert body["accounts"][0]["availability"] == "online"

    wrong = await client.put(
        "/api/v1/profile", headers=member.headers, json={"current_password": "nope", "password": "new password 1"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["attributes"] == ["current_password"]
    ok = await client.put(
        "/api/v1/profile", headers=member.headers, json={"current_password": PASSWORD, "password": "new password 1"}
    )
    assert ok.status_code == 200
    login = await client.post("/api/v1/auth/login", json={"email": member.user.email, "password": "new password 1"})
    assert login.status_code == 200
