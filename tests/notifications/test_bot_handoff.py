"""The lead the bot qualifies and hands off reaches the agent auto-assignment picks as a qualified lead;
any other handoff is a plain assignment. Through the real WhatsApp webhook, bot and worker."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.auth.models import Availability
from nexa.devtools.fake_graph import FakeGraph
from nexa.realtime.presence import change_availability
from nexa.runtime import Runtime
from tests.bot.harness import Customer, settle
from tests.bot.test_bot import agent_of
from tests.channels.whatsapp.helpers import WhatsAppInbox


async def test_a_qualified_lead_and_a_request_for_a_person_reach_the_online_agent(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    agent = await agent_of(client, runtime, bot_inbox)
    await change_availability(runtime, bot_inbox.member.account.id, agent.user.id, Availability.online)

    maria = Customer(client, runtime, fake_graph, bot_inbox, number="5511988887777")
    await maria.says("Oi, quero comprar")
    await maria.taps("buy", "Quero comprar")
    await maria.says("mais de 5 mil")
    await maria.says("agora")
    joao = Customer(client, runtime, fake_graph, bot_inbox, number="5511977776666", name="João")
    await joao.says("quero falar com um atendente")
    await settle(runtime)

    response = await client.get(f"{bot_inbox.account_url}/notifications", headers=agent.headers)
    kinds = {n["primary_actor_id"]: n["notification_type"] for n in response.json()["data"]["payload"]}
    assert kinds == {
        (await maria.conversation())["id"]: "qualified_lead_handoff",
        (await joao.conversation())["id"]: "conversation_assignment",
    }
