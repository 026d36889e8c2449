"""The composer's template picker in Chromium with a template that has a media header, named body
parameters and a link button: every placeholder gets an input, and the send reaches the fake Graph API in
Meta's component format."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from nexa.conversations.models import Message, MessageType
from nexa.devtools.fake_graph import FakeGraph, message_template
from nexa.jobs.worker import Worker
from nexa.kit.clock import utcnow
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

TRACKING = message_template(
    "pedido_a_caminho",
    "Oi {{nome}}, o pedido {{pedido}} está a caminho.",
    header={"format": "IMAGE"},
    buttons=[
        {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999990000"},
        {"type": "URL", "text": "Rastrear", "url": "https://loja.example/rastreio/{{1}}"},
    ],
)


async def test_every_placeholder_of_a_template_is_filled_in_and_sent_in_metas_format(
    browser: Any,
    runtime: Runtime,
    worker: Worker,  # noqa: F811
    fake_graph: FakeGraph,  # noqa: F811
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin = await make_member(runtime)
    fake_graph.templates = [TRACKING]
    async with (
        serve_nexa(runtime) as nexa,
        httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api,
    ):
        account = f"/api/v1/accounts/{admin.account.id}"
        inbox = await whatsapp_inbox(api, admin, fake_graph)

        async def synced() -> bool:
            return bool((await api.get(f"{account}/inboxes/{inbox['id']}")).json()["message_templates"])

        await eventually(synced)
        await fake_graph.customer_says(
            api, httpx.URL(inbox["callback_webhook_url"]).path, "Cadê meu pedido?", name="Ana"
        )

        async def listed() -> list[dict[str, Any]]:
            params = {"status": "all", "assignee_type": "all"}
            return (await api.get(f"{account}/conversations", params=params)).json()["data"]["payload"]

        conversation = (await eventually(listed))[0]
        async with runtime.db.session() as session:
            await session.execute(
                update(Message)
                .where(Message.message_type == MessageType.incoming)
                .values(created_at=utcnow() - timedelta(hours=30))
            )

        context, page, errors = await new_page(browser, locale="en")
        try:
            await sign_in(page, nexa.http, admin)
            await page.goto(f"{nexa.http}/app/accounts/{admin.account.id}/conversations/{conversation['id']}")
            await page.select_option(".template select", label="pedido_a_caminho (pt_BR)")
            labels = await page.locator(".template__fields label span").all_inner_texts()
            assert labels == [
                "Header image link",
                "Parameter nome",
                "Parameter pedido",
                "Link parameter of the button Rastrear",
            ]
            send = page.locator("text=Send template")
            await page.fill('.template input[name="media_url"]', "https://loja.example/caixa.jpg")
            await page.fill('.template input[name="nome"]', "Ana")
            await page.fill('.template input[name="pedido"]', "A-17")
            assert await send.is_disabled()  # the link button's value is still missing
            await page.fill('.template input[name="1"]', "A-17")
            await page.locator(
                ".template__preview", has_text="Oi Ana, o pedido A-17 está a caminho."
            ).wait_for()
            await page.screenshot(path=SCREENSHOTS / "template-picker-header-and-button.png")
            await send.click()
            sent = await eventually(lambda: [s for s in fake_graph.sent if s.type == "template"])
            assert sent[0].body["template"]["components"] == [
                {
                    "type": "header",
                    "parameters": [{"type": "image", "image": {"link": "https://loja.example/caixa.jpg"}}],
                },
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": "nome", "text": "Ana"},
                        {"type": "text", "parameter_name": "pedido", "text": "A-17"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "1",
                    "parameters": [{"type": "text", "text": "A-17"}],
                },
            ]
            assert errors == []
        finally:
            await context.close()
