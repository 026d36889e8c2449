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
