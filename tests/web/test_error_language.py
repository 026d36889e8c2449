"""API errors speak the caller's language: the signed-in user's setting, else the browser's Accept-Language,
else English (API clients, Chatwoot's among them, get the exact English texts they always got)."""

from __future__ import annotations

import httpx

from nexa.runtime import Runtime
from tests.factories import make_member
from tests.web.conftest import sign_in


def _bad_status_filter() -> dict[str, object]:
    condition = {
        "attribute_key": "status",
        "filter_operator": "equal_to",
        "values": ["closed"],
        "query_operator": None,
    }
    return {"payload": [condition]}


async def test_errors_follow_the_users_setting_then_the_browser_then_english(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"

    async def error(headers: dict[str, str]) -> httpx.Response:
        return await client.post(
            f"{account}/conversations/filter", json=_bad_status_filter(), headers=headers
        )

    # An API token client without Accept-Language: today's English text, byte for byte.
    english = await error(admin.headers)
    assert english.status_code == 422 and english.content == b'{"error":"Invalid value for status: closed"}'
    spanish = await error({**admin.headers, "Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert spanish.status_code == 422 and spanish.json() == {"error": "Valor no válido para status: closed"}

    profile = await client.put(
        "/api/v1/profile", json={"profile": {"locale": "pt-BR"}}, headers=admin.headers
    )
    assert profile.status_code == 200, profile.text
    # The user's own setting wins over the browser's language, for a token client as for a browser.
    for headers in (admin.headers, {**admin.headers, "Accept-Language": "es"}):
        portuguese = await error(headers)
        assert portuguese.status_code == 422 and portuguese.json() == {
            "error": "Valor inválido para status: closed"
        }

    # Chatwoot's validation shape keeps its keys; its message is translated too.
    taken = await client.post(f"{account}/labels", json={"title": "vip"}, headers=admin.headers)
    assert taken.status_code == 200, taken.text
    again = await client.post(f"{account}/labels", json={"title": "vip"}, headers=admin.headers)
    assert again.status_code == 422 and again.json() == {
        "message": "O título já está em uso",
        "attributes": ["title"],
    }


async def test_a_signed_in_browser_and_an_anonymous_one(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    await client.put("/api/v1/profile", json={"profile": {"locale": "es"}}, headers=admin.headers)
    await sign_in(client, admin)
    missing = await client.get(
        f"/api/v1/accounts/{admin.account.id}/conversations/999999", headers={"Accept-Language": "en-US"}
    )
    assert missing.status_code == 404 and missing.json() == {"error": "No se encontró el recurso"}

    client.cookies.clear()
    anonymous = await client.get("/api/v1/profile", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "Você precisa entrar ou se cadastrar antes de continuar."}
    unknown_language = await client.get("/api/v1/profile", headers={"Accept-Language": "de-DE"})
    assert unknown_language.json() == {"error": "You need to sign in or sign up before continuing."}


async def test_an_unreadable_upload_is_refused_in_the_browsers_language(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    url = f"/api/v1/accounts/{admin.account.id}/knowledge/documents"
    for language, reason in (("es", "El archivo %s está dañado"), ("", "The %s file is corrupt")):
        headers = {**admin.headers, "Accept-Language": language} if language else admin.headers
        refused = await client.post(
            url, headers=headers, files={"file": ("planilha.xlsx", b"PK\x03\x04 truncated")}
        )
        assert refused.status_code == 422 and refused.json() == {"error": reason % "XLSX"}
