"""An inbox's WhatsApp templates (Meta's whole list, tens of KB) stay out of the message path: the webhook,
the inbound batch, the bot turn and the delivery of its reply never select them; the inbox's API shape
still shows them."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import event

from nexa.devtools.fake_graph import FakeGraph, message_template
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.bot.harness import Customer, enable_bot, settle
from tests.channels.whatsapp.helpers import create_whatsapp_inbox
from tests.factories import make_member

# The column itself, not message_templates_last_updated and its siblings (a few bytes each).
TEMPLATES_COLUMN = re.compile(r"message_templates\b")
SYNCED = [message_template(f"oferta_{n}", f"Oferta {n}: {{{{1}}}} com desconto de {{{{2}}}}.") for n in range(60)]


async def test_a_customer_message_its_bot_reply_and_the_delivery_never_select_the_inbox_templates(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, worker: Worker
) -> None:
    fake_graph.templates = list(SYNCED)
    inbox = await create_whatsapp_inbox(client, await make_member(runtime), fake_graph)  # syncs the templates
    await enable_bot(client, inbox)
    rule = {"name": "Answer everything", "kind": "pattern", "pattern": ".", "reply": "Obrigado!"}
    response = await client.post(f"{inbox.account_url}/bot/rules", json=rule, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    await settle(runtime)
    shown = await client.get(f"{inbox.account_url}/inboxes/{inbox.id}", headers=inbox.member.headers)
    assert len(shown.json()["message_templates"]) == len(SYNCED)

    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    customer = Customer(client, runtime, fake_graph, inbox)
    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        # The first message creates the contact and conversation, the second is the steady state.
        assert await customer.says("Oi, tudo bem?") == ["Obrigado!"]
        assert await customer.says("Quero saber o preço") == ["Obrigado!"]
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", record)

    assert any("inboxes.channel_config" in statement for statement in statements)  # the loop did load its inbox
    assert [statement for statement in statements if TEMPLATES_COLUMN.search(statement)] == []
