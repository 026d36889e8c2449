"""The built-in bot, through the real WhatsApp webhook, the fake Graph API and a real worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from nexa.analytics.models import ReportingEvent, ReportingEventName
from nexa.auth.models import Availability, Role
from nexa.devtools.fake_graph import FakeGraph
from nexa.devtools.fake_openai import DEFAULT_CHAT_MODEL, FakeOpenAI
from nexa.conversations.models import Message, MessageType
from nexa.jobs.models import Job
from nexa.kit.clock import utcnow
from nexa.realtime import EventName, Hub, MemoryBus, set_hub, user_channel
from nexa.realtime.presence import change_availability
from nexa.runtime import Runtime
from tests.bot.harness import Customer, settle
from tests.channels.whatsapp.helpers import WhatsAppInbox
from tests.factories import Member, make_member

def customer(client: httpx.AsyncClient, runtime: Runtime, fake: FakeGraph, inbox: WhatsAppInbox, number: str = "5511988887777") -> Customer:
    return Customer(client, runtime, fake, inbox, number=number)


async def bot_settings(client: httpx.AsyncClient, inbox: WhatsAppInbox, **changes: Any) -> dict[str, Any]:
    url = f"{inbox.account_url}/bot/settings"
    current = (await client.get(url, headers=inbox.member.headers)).json()
    response = await client.put(url, json={**current, **changes}, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def agent_of(client: httpx.AsyncClient, runtime: Runtime, inbox: WhatsAppInbox) -> Member:
    agent = await make_member(runtime, inbox.member.account, role=Role.agent)
    response = await client.post(
        f"{inbox.account_url}/inbox_members", json={"inbox_id": inbox.id, "user_ids": [agent.user.id]}, headers=inbox.member.headers
    )
    assert response.status_code == 200, response.text
    return agent


async def test_a_hot_lead_is_qualified_with_buttons_and_handed_off_with_everything_the_agent_needs(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    maria = customer(client, runtime, fake_graph, bot_inbox)
    assert await maria.says("Oi, quero comprar") == ["O que você procura?"]
    assert maria.buttons() == ["buy", "info", "browsing"]  # the choices go out as WhatsApp buttons
    assert await maria.taps("buy", "Quero comprar") == ["Qual é o seu orçamento?"]
    assert await maria.says("mais de 5 mil") == ["Para quando você precisa?"]
    [handoff_notice] = await maria.says("agora")
    assert "atendente" in handoff_notice and "fila" in handoff_notice  # nobody online: the queue, in Portuguese

    conversation = await maria.conversation()
    assert conversation["status"] == "open" and conversation["meta"]["assignee"] is None
    contact = await maria.contact()
    assert contact["lead_status"] == "in_service" and contact["lead_score"] >= 7
    assert "budget > R$ 5k: +3" in contact["lead_score_reasons"]
    assert contact["custom_attributes"]["lead_budget"] == "over_5k"
    messages = await maria.messages()
    [note] = [m for m in messages if m["private"]]
    assert "Lead score" in note["content"] and "budget: over_5k" in note["content"] and "Customer: agora" in note["content"]
    handoff = "O bot passou a conversa para um atendente: lead qualificado"  # in the account's language
    assert any(m["message_type"] == 2 and m["content"] == handoff for m in messages)
    async with runtime.db.session(write=False) as session:
        events = (await session.scalars(select(ReportingEvent.name).where(ReportingEvent.name == ReportingEventName.conversation_bot_handoff))).all()
    assert len(events) == 1


async def test_after_the_handoff_the_bot_is_silent_until_an_agent_hands_the_conversation_back(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    maria = customer(client, runtime, fake_graph, bot_inbox)
    await maria.says("Quero falar com um atendente")
    assert (await maria.conversation())["status"] == "open"
    assert await maria.says("Oi? Alguém aí?") == []

    conversation = await maria.conversation()
    response = await client.post(
        f"{bot_inbox.account_url}/conversations/{conversation['id']}/toggle_status", json={"status": "pending"},
        headers=bot_inbox.member.headers,
    )
    assert response.status_code == 200, response.text
    assert await maria.says("oi") != []


async def test_people_ask_for_a_human_in_their_language_or_with_a_button(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    juan = customer(client, runtime, fake_graph, bot_inbox, "5491155554444")
    [notice] = await juan.says("Hola, quiero hablar con un asesor por favor")
    assert "asesor" in notice and (await juan.conversation())["status"] == "open"

    ann = customer(client, runtime, fake_graph, bot_inbox, "14155550100")
    await ann.says("Hi, what is your refund policy?")
    await ann.taps("talk_to_agent", "Talk to a person")
    assert (await ann.conversation())["status"] == "open"
    note = next(m for m in await ann.messages() if m["private"])
    assert "human_request" in note["content"]


async def test_an_angry_customer_goes_straight_to_a_human(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    maria = customer(client, runtime, fake_graph, bot_inbox)
    await maria.says("Oi")
    await maria.says("Que serviço PÉSSIMO, ninguém me responde")
    assert (await maria.conversation())["status"] == "open"
    assert "negative_sentiment" in next(m for m in await maria.messages() if m["private"])["content"]


async def test_opting_out_is_confirmed_recorded_and_ends_the_follow_ups(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    maria = customer(client, runtime, fake_graph, bot_inbox)
    await maria.says("Oi, quero comprar")
    [confirmation] = await maria.says("PARE")
    assert "não vai mais receber" in confirmation
    assert (await maria.conversation())["status"] == "pending"
    async with runtime.db.session(write=False) as session:
        live = (await session.scalars(select(Job.state).where(Job.kind == "bot.follow_up"))).all()
    assert "scheduled" not in live


async def test_an_invalid_answer_is_asked_again_with_a_hint(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    maria = customer(client, runtime, fake_graph, bot_inbox)
    await maria.says("Oi, quero comprar")
    await maria.says("1")  # the first option, by number
    await maria.says("entre 1 e 5 mil")
    await maria.says("sem pressa")
    await maria.says("Decido com meu sócio")
    [hint] = await maria.says("meu email é maria arroba empresa")
    assert "e-mail válido" in hint and "Qual é o seu e-mail?" in hint
    [done] = await maria.says("maria@empresa.com.br")
    assert "anotei tudo" in done
    contact = await maria.contact()
    assert contact["custom_attributes"]["lead_email"] == "maria@empresa.com.br"
    assert contact["lead_status"] == "new" and contact["lead_score"] < 7
    assert (await maria.conversation())["status"] == "pending"  # a warm lead stays with the bot


async def test_knowledge_answers_cite_their_source_and_unknowns_are_not_invented(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    response = await client.post(
        f"{bot_inbox.account_url}/knowledge/faqs",
        json={"title": "Entrega", "pairs": [{"question": "Vocês entregam em Curitiba?", "answer": "Sim, entregamos em Curitiba em até 3 dias úteis."}]},
        headers=bot_inbox.member.headers,
    )
    assert response.status_code == 200, response.text
    await settle(runtime)
    maria = customer(client, runtime, fake_graph, bot_inbox)
    answer, question = await maria.says("Vocês entregam em Curitiba?")
    assert "3 dias úteis" in answer and "Fonte: Entrega" in answer
    assert question == "O que você procura?"
    dont_know, asked_again = await maria.says("Qual a cor do cavalo branco de Napoleão?")
    assert "prefiro não inventar" in dont_know and maria.buttons() == ["buy", "info", "browsing"]
    assert asked_again == "O que você procura?"


async def test_round_robin_over_online_agents_under_their_cap_and_the_queue_waits_for_someone_to_come_online(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    first, second = await agent_of(client, runtime, bot_inbox), await agent_of(client, runtime, bot_inbox)
    response = await client.patch(
        f"{bot_inbox.account_url}/inboxes/{bot_inbox.id}", json={"max_assignment_limit": 1}, headers=bot_inbox.member.headers
    )
    assert response.status_code == 200, response.text
    account_id = bot_inbox.member.account.id
    await change_availability(runtime, account_id, first.user.id, Availability.online)
    await change_availability(runtime, account_id, second.user.id, Availability.online)

    customers = [customer(client, runtime, fake_graph, bot_inbox, f"55119000000{n}") for n in range(3)]
    notices = [(await person.says("quero falar com um atendente"))[0] for person in customers]
    assert "Tempo estimado de espera: cerca de 2 min" in notices[0]  # first in line, two agents online
    assignees = [(await person.conversation())["meta"]["assignee"] for person in customers]
    assert sorted(a["id"] for a in assignees[:2]) == sorted([first.user.id, second.user.id])
    assert assignees[2] is None and "fila" in notices[2]  # both are at their cap: the third waits

    await client.post(f"{customers[0].inbox.account_url}/conversations/{(await customers[0].conversation())['id']}/toggle_status",
                      json={"status": "resolved"}, headers=bot_inbox.member.headers)
    third = await agent_of(client, runtime, bot_inbox)
    await change_availability(runtime, account_id, third.user.id, Availability.online)
    await settle(runtime)
    assert (await customers[2].conversation())["meta"]["assignee"]["id"] == third.user.id


async def test_follow_ups_are_sent_when_due_at_most_n_and_cancelled_when_the_customer_writes(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    maria = customer(client, runtime, fake_graph, bot_inbox)
    await maria.says("Oi, quero comprar")
    async with runtime.db.session(write=False) as session:
        assert (await session.scalars(select(Job.state).where(Job.kind == "bot.follow_up"))).all() == ["scheduled"]
        first = await session.scalar(select(Job.scheduled_at).where(Job.kind == "bot.follow_up"))
    await maria.says("Só informações")
    async with runtime.db.session(write=False) as session:
        follow_ups = (await session.scalars(select(Job).where(Job.kind == "bot.follow_up"))).all()
        last_message = (await maria.messages())[-2]  # the customer's; the bot's answer follows it
    # The waiting follow-up now counts from the customer's new message.
    assert [(job.state, job.args["after_message_id"]) for job in follow_ups] == [("scheduled", last_message["id"])]
    assert follow_ups[0].scheduled_at > first

    await bot_settings(client, bot_inbox, follow_ups={"delays_minutes": [0], "max_count": 2})
    ana = customer(client, runtime, fake_graph, bot_inbox, "5511977776666")
    replies = await ana.says("Oi, quero comprar")
    assert replies == ["O que você procura?", "Oi! Ainda posso te ajudar? É só responder por aqui.",
                       "Oi! Ainda posso te ajudar? É só responder por aqui."]  # at most two, then silence


async def test_with_an_llm_its_extracted_fields_score_the_lead_and_its_intents_hand_off(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    async with FakeOpenAI().running() as llm:
        body = {"base_url": llm.base_url, "model": DEFAULT_CHAT_MODEL, "api_key": llm.api_key}
        response = await client.put(f"{bot_inbox.account_url}/bot/llm", json=body, headers=bot_inbox.member.headers)
        assert response.status_code == 200, response.text

        maria = customer(client, runtime, fake_graph, bot_inbox)
        llm.answer_with(reply="Perfeito, Maria! Vou te passar para um especialista.", intent="price_question",
                        extracted={"need": "buy", "budget": "over_5k", "timeline": "now", "unknown_field": "x"})
        replies = await maria.says("Quero comprar já, tenho uns 20 mil de orçamento")
        assert replies[0] == "Perfeito, Maria! Vou te passar para um especialista." and "atendente" in replies[1]
        contact = await maria.contact()
        assert contact["lead_status"] == "in_service" and "budget > R$ 5k: +3" in contact["lead_score_reasons"]
        assert "unknown_field" not in str(contact["custom_attributes"])

        ann = customer(client, runtime, fake_graph, bot_inbox, "14155550100")
        llm.answer_with(reply="Sure!", intent="human_request")
        await ann.says("can someone call me back")
        assert (await ann.conversation())["status"] == "open"
        assert "human_request (LLM)" in next(m for m in await ann.messages() if m["private"])["content"]


async def test_the_inbox_agents_hear_about_the_handoff_on_their_own_channel(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    agent = await agent_of(client, runtime, bot_inbox)
    hub = Hub(MemoryBus(), queue_size=64)
    await hub.start()
    set_hub(hub)
    try:
        async with hub.connect([user_channel(agent.user.id)]) as socket:
            maria = customer(client, runtime, fake_graph, bot_inbox)
            await maria.says("quero falar com um atendente")
            event = await asyncio.wait_for(anext(socket), 5)
    finally:
        set_hub(None)
        await hub.stop()
    assert event.name == EventName.NOTIFICATION_CREATED
    assert event.data["notification_type"] == "bot_handoff" and event.data["reason"] == "human_request"
    assert event.data["conversation_id"] == (await maria.conversation())["id"]


async def test_once_the_24_hour_window_has_closed_a_follow_up_goes_out_as_the_accounts_template(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    template = {"name": "ainda_interessado", "language": "pt_BR", "category": "MARKETING", "processed_params": {}}
    await bot_settings(client, bot_inbox, follow_ups={"delays_minutes": [60], "max_count": 1, "template_params": template})
    maria = customer(client, runtime, fake_graph, bot_inbox)
    await maria.says("Oi, quero comprar")
    # A day passes: the customer's message is older than the window, and the follow-up is due.
    async with runtime.db.session() as session:
        await session.execute(update(Message).where(Message.message_type == MessageType.incoming)
                              .values(created_at=utcnow() - timedelta(hours=25)))
        await session.execute(update(Job).where(Job.kind == "bot.follow_up").values(scheduled_at=utcnow()))
    await eventually_sent(fake_graph, maria)
    assert fake_graph.sent[-1].type == "template" and fake_graph.sent[-1].body["template"]["name"] == "ainda_interessado"


async def eventually_sent(fake: FakeGraph, person: Customer) -> None:
    for _ in range(200):
        await settle(person.runtime)
        if len([r for r in fake.sent if r.to == person.number]) > person.heard:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("nothing was sent")
