"""A template send checked against the inbox's templates synced from Meta: refused with a 422 before
anything is stored or queued when WhatsApp would refuse it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from nexa.channels.outbound import DELIVERY_JOB
from nexa.conversations.models import Message, MessageType
from nexa.devtools.fake_graph import FakeGraph, message_template
from nexa.jobs.models import Job
from nexa.runtime import Runtime
from tests.bot.harness import settle
from tests.channels.outbound.harness import Chat, reply, sent_reply, status_becomes

SYNCED = [
    message_template("pedido_enviado", "Olá {{1}}, seu pedido {{2}} saiu.", header={"format": "IMAGE"}),
    message_template(
        "pedido_enviado", "Hi {{1}}, order {{2}} shipped.", language="en_US", header={"format": "IMAGE"}
    ),
    message_template("retomar", "Hola {{first_name}}, ¿seguimos con {{product}}?", language="es"),
    message_template("natal", "Promoção de Natal!", status="PENDING", category="MARKETING"),
    message_template(
        "rastreio",
        "Seu pedido saiu.",
        buttons=[
            {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999990000"},
            {"type": "URL", "text": "Rastrear", "url": "https://loja.example/rastreio/{{1}}"},
        ],
    ),
]
IMAGE = {"media_url": "https://example.com/pedido.jpg", "media_type": "image"}


def _template(
    name: str,
    language: str,
    body: dict[str, str],
    header: dict[str, str] | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    processed: dict[str, Any] = {"body": body}
    if header is not None:
        processed["header"] = header
    if buttons is not None:
        processed["buttons"] = buttons
    return {"name": name, "language": language, "processed_params": processed}


async def _outgoing_and_deliveries(runtime: Runtime) -> tuple[int, int]:
    async with runtime.db.session(write=False) as session:
        outgoing = await session.scalar(
            select(func.count()).select_from(Message).where(Message.message_type == MessageType.outgoing)
        )
        deliveries = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == DELIVERY_JOB)
        )
    return int(outgoing or 0), int(deliveries or 0)


async def test_a_template_send_wrong_for_the_synced_templates_is_a_422_before_anything_is_queued(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    fake_graph.templates = list(SYNCED)
    synced = await client.post(
        f"{chat.inbox.account_url}/inboxes/{chat.inbox.id}/sync_templates", headers=chat.headers
    )
    assert synced.status_code == 200, synced.text
    await settle(runtime)
    before = await _outgoing_and_deliveries(runtime)

    refusals = {
        "This inbox has no WhatsApp template named pedido_enviad: sync the templates or pick another one.": _template(
            "pedido_enviad", "pt_BR", {"1": "Maria", "2": "A1"}, IMAGE
        ),
        "The WhatsApp template pedido_enviado has no es version (it has: en_US, pt_BR).": _template(
            "pedido_enviado", "es", {"1": "Maria", "2": "A1"}, IMAGE
        ),
        "The WhatsApp template natal (pt_BR) is not approved by Meta (status PENDING).": _template(
            "natal", "pt_BR", {}
        ),
        "The WhatsApp template pedido_enviado takes 2 body parameters, not 1.": _template(
            "pedido_enviado", "pt_BR", {"1": "Maria"}, IMAGE
        ),
        "Every parameter of the WhatsApp template pedido_enviado needs a value.": _template(
            "pedido_enviado", "pt_BR", {"1": "Maria", "2": " "}, IMAGE
        ),
        "The WhatsApp template pedido_enviado needs its header (image) in the send.": _template(
            "pedido_enviado", "pt_BR", {"1": "Maria", "2": "A1"}
        ),
        "The WhatsApp template retomar takes the parameters first_name, product, not first_name, produto.": _template(
            "retomar", "es", {"first_name": "Ana", "produto": "sofá"}
        ),
        "The WhatsApp template retomar has no header to fill in.": _template(
            "retomar", "es", {"first_name": "Ana", "product": "sofá"}, {"text": "Oi"}
        ),
        "The WhatsApp template rastreio needs the link parameter of its button 2.": _template(
            "rastreio", "pt_BR", {}
        ),
    }
    for error, template_params in refusals.items():
        response = await reply(client, chat, None, template_params=template_params)
        assert response.status_code == 422, (error, response.text)
        assert response.json() == {"error": error}
    assert await _outgoing_and_deliveries(runtime) == before

    created = await sent_reply(
        client,
        chat,
        None,
        template_params=_template("pedido_enviado", "en_US", {"1": "Mary", "2": "A1"}, IMAGE),
    )
    await status_becomes(client, chat, created["id"], "sent")
    assert fake_graph.sent[-1].body["template"]["name"] == "pedido_enviado"
    # The link button's value goes at its place among the template's buttons (the phone button is static).
    tracked = await sent_reply(
        client,
        chat,
        None,
        template_params=_template(
            "rastreio",
            "pt_BR",
            {},
            buttons=[{"type": "quick_reply", "parameter": ""}, {"type": "url", "parameter": "A1"}],
        ),
    )
    await status_becomes(client, chat, tracked["id"], "sent")
    assert fake_graph.sent[-1].body["template"]["components"] == [
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "A1"}]}
    ]
    named = await sent_reply(
        client,
        chat,
        None,
        template_params=_template("retomar", "es", {"product": "sofá", "first_name": "Ana"}),
    )
    await status_becomes(client, chat, named["id"], "sent")
    assert fake_graph.sent[-1].body["template"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ana"},
                {"type": "text", "parameter_name": "product", "text": "sofá"},
            ],
        }
    ]


async def test_without_synced_templates_a_template_send_is_left_to_meta(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    created = await sent_reply(
        client, chat, None, template_params=_template("qualquer", "pt_BR", {"1": "Maria"})
    )
    await status_becomes(client, chat, created["id"], "sent")
    assert fake_graph.sent[-1].body["template"]["name"] == "qualquer"
