"""The LLM inside the real bot: a customer writes on WhatsApp (fake Graph API), a real worker runs the bot,
which asks the account's LLM (fake OpenAI server) and sends its reply; when the LLM fails, the bot answers
without it."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.devtools.fake_graph import FakeGraph
from nexa.devtools.fake_openai import DEFAULT_CHAT_MODEL, FakeOpenAI
from nexa.runtime import Runtime
from tests.bot.harness import Customer
from tests.channels.whatsapp.helpers import WhatsAppInbox


async def connect_llm(client: httpx.AsyncClient, inbox: WhatsAppInbox, fake: FakeOpenAI, **overrides: Any) -> None:
    body = {"base_url": fake.base_url, "model": DEFAULT_CHAT_MODEL, "api_key": fake.api_key,
            "persona": "Você é a Bia, da Loja Azul.", **overrides}
    response = await client.put(f"{inbox.account_url}/bot/llm", json=body, headers=inbox.member.headers)
    assert response.status_code == 200, response.text


async def test_the_bot_answers_with_the_llm_and_without_it_when_the_llm_is_down(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any,
    fake_openai: FakeOpenAI,
) -> None:
    await connect_llm(client, bot_inbox, fake_openai, breaker_failure_threshold=1, breaker_open_seconds=600)
    maria = Customer(client, runtime, fake_graph, bot_inbox)

    fake_openai.answer_with(reply="Oi Maria! O que você procura hoje?", intent="greeting", extracted={"name": "Maria"})
    assert await maria.says("Oi, sou a Maria") == ["Oi Maria! O que você procura hoje?"]
    [request] = fake_openai.chat_requests
    assert "Você é a Bia, da Loja Azul." in request.system_prompt
    assert request.messages[-1] == {"role": "user", "content": "Oi, sou a Maria"}

    # The LLM fails: this turn and the next (circuit open) get the no-LLM bot's qualification question.
    fake_openai.fail_next(1, status=500)
    assert await maria.says("quero comprar") == ["O que você procura?"]
    replies = await maria.says("Quero comprar")
    assert replies and len(fake_openai.chat_requests) == 2
    usage = (await client.get(f"{bot_inbox.account_url}/bot/llm", headers=bot_inbox.member.headers)).json()
    assert usage["circuit"] == "open" and usage["tokens_used_today"] > 0
