"""What an agent may send on WhatsApp, judged up front: the 24-hour window, templates, buttons and lists."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from nexa.conversations.models import Message, MessageType
from nexa.kit.clock import utcnow
from nexa.runtime import Runtime
from tests.channels.outbound.harness import Chat, reply, sent_reply, status_becomes
from nexa.devtools.fake_graph import FakeGraph

WINDOW_CLOSED = (
    "The 24-hour window to reply to this customer on WhatsApp has closed: "
    "send an approved template (template_params) instead"
)
TEMPLATE = {
    "name": "pedido_atualizado", "category": "UTILITY", "language": "pt_BR",
    "processed_params": {"body": {"1": "Maria", "2": "A123"}, "header": {"media_url": "https://example.com/a.jpg", "media_type": "image"},
                         "buttons": [{"type": "url", "parameter": "A123"}, {"type": "quick_reply", "parameter": "PARAR"}]},
}


async def _customer_last_wrote(runtime: Runtime, ago: timedelta) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(Message).where(Message.message_type == MessageType.incoming).values(created_at=utcnow() - ago)
        )


async def test_free_text_after_24_hours_is_refused_up_front_and_a_template_goes(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    await _customer_last_wrote(runtime, timedelta(hours=24, minutes=1))

    refused = await reply(client, chat, "Ainda tem interesse?")
    assert refused.status_code == 422
    assert refused.json() == {"error": WINDOW_CLOSED}

    created = await sent_reply(client, chat, "Olá Maria, seu pedido A123 mudou", template_params=TEMPLATE)
    assert created["additional_attributes"]["template_params"]["name"] == "pedido_atualizado"
    await status_becomes(client, chat, created["id"], "sent")
    [sent] = fake_graph.sent
    assert sent.type == "template"
    assert sent.body["template"] == {
        "name": "pedido_atualizado", "language": {"code": "pt_BR"}, "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.jpg"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "A123"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A123"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "PARAR"}]},
        ],
    }


async def test_inside_the_window_free_text_is_fine_and_private_notes_always(
    client: httpx.AsyncClient, runtime: Runtime, chat: Chat
) -> None:
    await _customer_last_wrote(runtime, timedelta(hours=23, minutes=59))
    assert (await reply(client, chat, "Pode sim")).status_code == 200

    await _customer_last_wrote(runtime, timedelta(days=3))
    assert (await reply(client, chat, "Ligar amanhã", private=True)).status_code == 200


async def test_chatwoots_flat_template_params_are_body_parameters(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    created = await sent_reply(client, chat, None, template_params={
        "name": "boas_vindas", "language": "pt_BR", "processed_params": {"1": "Maria", "nome_loja": "Acme"},
    })

    await status_becomes(client, chat, created["id"], "sent")
    assert fake_graph.sent[0].body["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Maria"}, {"type": "text", "parameter_name": "nome_loja", "text": "Acme"},
    ]}]


async def test_up_to_three_options_go_as_buttons_more_as_a_list(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    buttons = await sent_reply(client, chat, "Como posso ajudar?", content_type="input_select", content_attributes={
        "items": [{"title": "Falar com vendas", "value": "sales"}, {"title": "Suporte", "value": "support"}],
    })
    listed = await sent_reply(client, chat, "Escolha um tamanho", content_type="input_select", content_attributes={
        "items": [{"title": size, "value": size.lower()} for size in ("PP", "P", "M", "G", "GG")],
    })

    await status_becomes(client, chat, listed["id"], "sent")
    await status_becomes(client, chat, buttons["id"], "sent")
    first, second = (record.body["interactive"] for record in fake_graph.sent)
    assert first["type"] == "button"
    assert [b["reply"] for b in first["action"]["buttons"]] == [
        {"id": "sales", "title": "Falar com vendas"}, {"id": "support", "title": "Suporte"},
    ]
    assert second["type"] == "list"
    assert [row["id"] for row in second["action"]["sections"][0]["rows"]] == ["pp", "p", "m", "g", "gg"]


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        ([{"title": "Quero falar com um atendente agora", "value": "a"}], "Button titles are limited to 20 characters"),
        ([{"title": f"Opção {n}", "value": str(n)} for n in range(11)], "A list holds at most 10 options, not 11"),
        ([{"title": "Sim"}, {"title": "Sim"}], "Button titles must be different from each other"),
        ([{"value": "x"}], "content_attributes.items[0] needs a title"),
        ([], "content_attributes.items must list the options: [{title, value}]"),
    ],
)
async def test_options_over_whatsapps_limits_are_refused_up_front(
    client: httpx.AsyncClient, chat: Chat, items: list[dict[str, str]], problem: str
) -> None:
    response = await reply(client, chat, "Escolha", content_type="input_select", content_attributes={"items": items})

    assert response.status_code == 422
    assert response.json()["error"].startswith(problem)


async def test_a_template_without_name_or_language_is_a_422(client: httpx.AsyncClient, chat: Chat) -> None:
    response = await reply(client, chat, None, template_params={"name": "x"})
    assert response.status_code == 422
    assert "template_params.language" in response.json()["error"]
