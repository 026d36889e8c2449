"""The account's white-label brand: validated on the way in, partial updates merge, "" clears a field."""

from __future__ import annotations

import httpx

from nexa.runtime import Runtime
from tests.factories import make_member


async def test_branding_is_validated_and_merged(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    url = f"/api/v1/accounts/{admin.account.id}"
    brand = {"product_name": "  Atende Já ", "logo_url": "https://cdn.example.com/logo.png",
             "favicon_url": "/static/favicon.ico", "primary_color": "#112233", "accent_color": "#abc"}
    changed = await client.patch(url, headers=admin.headers, json={"branding": brand})
    assert changed.status_code == 200, changed.text
    assert changed.json()["branding"] == {**brand, "product_name": "Atende Já"}

    only_color = await client.patch(url, headers=admin.headers, json={"branding": {"accent_color": ""}})
    assert only_color.json()["branding"] == {**brand, "product_name": "Atende Já", "accent_color": None}

    for field, value in [
        ("primary_color", "red"), ("primary_color", "#12345"), ("accent_color", "#1234567"),
        ("logo_url", "javascript:alert(1)"), ("logo_url", "data:image/png;base64,AAAA"),
        ("logo_url", "//evil.example.com/x.png"), ("favicon_url", "https://x.example.com/a.png) ; x"),
        ("logo_url", 'https://x.example.com/"onerror=alert(1)'), ("product_name", "x" * 81),
    ]:
        refused = await client.patch(url, headers=admin.headers, json={"branding": {field: value}})
        assert refused.status_code == 422, (field, value, refused.text)
        assert field in refused.text
    assert (await client.get(url, headers=admin.headers)).json()["branding"]["logo_url"] == brand["logo_url"]
