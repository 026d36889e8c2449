"""Settings > an inbox in Chromium: the WhatsApp templates card shows what the sync from the fake Graph API
brought, and a refused token in plain words after "Sync templates"."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.devtools.fake_graph import FakeGraph, message_template
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.e2e.test_inbox import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    eventually,
    fake_graph,
    new_page,
    settings,
    sign_in,
    whatsapp_inbox,
    worker,
)
from tests.factories import make_member
from tests.realtime._server import serve as serve_nexa


async def test_admin_sees_the_synced_templates_and_a_refused_token_after_syncing_again(
    browser: Any,
    runtime: Runtime,
    worker: Worker,  # noqa: F811
    fake_graph: FakeGraph,  # noqa: F811
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin = await make_member(runtime)
    fake_graph.templates = [
        message_template("boas_vindas", "Oi {{1}}"),
        message_template("promo", "x", status="REJECTED"),
    ]
    async with (
        serve_nexa(runtime) as nexa,
        httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api,
    ):
        inbox = await whatsapp_inbox(api, admin, fake_graph)
        inbox_url = f"/api/v1/accounts/{admin.account.id}/inboxes/{inbox['id']}"

        async def synced() -> bool:
            return (await api.get(inbox_url)).json()["message_templates_last_updated"] is not None

        await eventually(synced)
        context, page, errors = await new_page(browser, locale="pt-BR")
        try:
            await sign_in(page, nexa.http, admin)
            await page.goto(f"{nexa.http}/app/accounts/{admin.account.id}/settings/inboxes/{inbox['id']}")
            await page.locator("[data-templates-summary]", has_text="2 templates · 1 aprovado").wait_for()
            assert not await page.locator("[data-templates-error]").is_visible()

            fake_graph.access_token = "rotated-in-meta"  # the token the inbox holds is no longer valid
            await page.click('[data-action="sync-templates"]')
            error = page.locator("[data-templates-error]", has_text="A última sincronização falhou")
            await error.wait_for()
            assert "access token has expired or was revoked" in await error.inner_text()
            await page.screenshot(path=SCREENSHOTS / "settings-inbox-templates.png", full_page=True)
            assert errors == []
        finally:
            await context.close()
