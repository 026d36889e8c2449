"""The account's white-label brand: validated on the way in, partial updates merge, "" clears a field."""

from __future__ import annotations

import httpx

from nexa.auth.models import Role
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


# A real 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf"
    "c0f01f0005000201a5b1e0f10000000049454e44ae426082"
)


async def test_uploaded_logo_and_favicon_are_served_publicly(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    url = f"/api/v1/accounts/{admin.account.id}/branding"
    uploaded = await client.post(f"{url}/logo", headers=admin.headers, files={"file": ("logo.png", PNG, "image/png")})
    assert uploaded.status_code == 200, uploaded.text
    logo_url = uploaded.json()["branding"]["logo_url"]
    assert logo_url.startswith(f"/brand/{admin.account.id}/") and logo_url.endswith(".png")
    served = await client.get(logo_url)  # no credentials: the login page and the widget show it to anyone
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png" and "immutable" in served.headers["cache-control"]

    # A new upload gets a new URL; the old file is gone once the change is committed.
    again = await client.post(f"{url}/logo", headers=admin.headers, files={"file": ("x.png", PNG, "image/png")})
    assert again.json()["branding"]["logo_url"] != logo_url
    assert (await client.get(logo_url)).status_code == 404
    favicon = await client.post(f"{url}/favicon", headers=admin.headers,
                                files={"file": ("f.ico", b"\x00\x00\x01\x00" + b"\x00" * 20, "image/x-icon")})
    assert favicon.json()["branding"]["favicon_url"].endswith(".ico")
    assert favicon.json()["branding"]["logo_url"] == again.json()["branding"]["logo_url"]


async def test_only_small_raster_images_from_administrators(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    url = f"/api/v1/accounts/{admin.account.id}/branding/logo"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, data in [("x.svg", svg), ("x.png", b"not an image"), ("big.png", PNG + b"\x00" * 1_000_000)]:
        refused = await client.post(url, headers=admin.headers, files={"file": (name, data, "image/png")})
        assert refused.status_code == 422, name
        assert refused.json()["attributes"] == ["file"]
    assert (await client.post(url, headers=admin.headers)).status_code == 422
    assert (await client.post(url, headers=agent.headers, files={"file": ("x.png", PNG, "image/png")})).status_code == 401
    for path in ("/brand/1/..%2F..%2Fsecret.png", "/brand/1/abc.svg", f"/brand/{admin.account.id}/{'a' * 24}.png"):
        assert (await client.get(path)).status_code == 404, path
