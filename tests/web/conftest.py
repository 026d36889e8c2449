"""Signed-in browsers for page tests: the real login endpoint sets the cookies."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, Member


async def sign_in(client: httpx.AsyncClient, member: Member) -> None:
    response = await client.post("/api/v1/auth/session", json={"email": member.user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
