"""The inbox settings page's WhatsApp templates card, in each language (its data comes from the inbox JSON)."""

from __future__ import annotations

import httpx
import pytest

from nexa.runtime import Runtime
from tests.factories import make_member
from tests.web.conftest import sign_in


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("pt-BR", ("Templates de mensagem", "Sincronizar templates")),
        ("es", ("Plantillas de mensaje", "Sincronizar plantillas")),
        ("en", ("Message templates", "Sync templates")),
    ],
)
async def test_the_inbox_page_offers_to_sync_templates_in_the_viewers_language(
    client: httpx.AsyncClient, runtime: Runtime, language: str, texts: tuple[str, str]
) -> None:
    admin = await make_member(runtime)
    await sign_in(client, admin)
    page = await client.get(
        f"/app/accounts/{admin.account.id}/settings/inboxes/1", headers={"Accept-Language": language}
    )
    assert page.status_code == 200
    for text in texts:
        assert text in page.text
    assert 'data-action="sync-templates"' in page.text
    script = await client.get("/static/app/settings/inbox.js")
    assert "/sync_templates" in script.text and "message_templates_sync_error" in script.text
