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

    fake_openai.answer_with(reply="Oi Maria! Que bom te ver por aqui.", intent="greeting", extracted={"name": "Maria"})
    # The LLM's words, then the flow's own first question (the LLM was told not to ask it).
    assert await maria.says("Oi, sou a Maria") == ["Oi Maria! Que bom te ver por aqui.", "O que você procura?"]
    [request] = fake_openai.chat_requests
    assert "Você é a Bia, da Loja Azul." in request.system_prompt
    assert '"next_question": "O que você procura?"' in request.system_prompt and "do not ask it" in request.system_prompt
    assert request.messages[-1] == {"role": "user", "content": "Oi, sou a Maria"}

    # The LLM fails: this turn and the next (circuit open) get the no-LLM bot's qualification flow.
    fake_openai.fail_next(1, status=500)
    assert await maria.says("quero comprar") == ["Qual é o seu orçamento?"]
    assert await maria.says("mais de 5 mil") == ["Para quando você precisa?"]
    assert len(fake_openai.chat_requests) == 2
    usage = (await client.get(f"{bot_inbox.account_url}/bot/llm", headers=bot_inbox.member.headers)).json()
    assert usage["circuit"] == "open" and usage["tokens_used_today"] > 0


async def test_with_an_llm_the_flow_still_validates_stores_and_asks_and_the_llm_adds_fields_intent_and_words(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any,
    fake_openai: FakeOpenAI,
) -> None:
    await connect_llm(client, bot_inbox, fake_openai)
    maria = Customer(client, runtime, fake_graph, bot_inbox)
    fake_openai.answer_with(reply="Olá! Sou a Bia.", intent="greeting")
    assert await maria.says("Olá") == ["Olá! Sou a Bia.", "O que você procura?"]

    # The answer to the pending question is the flow's, even when the LLM reads it otherwise or not at
    # all; the LLM's extra field (timeline, not asked yet) is kept, so the flow skips that question.
    fake_openai.answer_with(reply="Ótimo!", intent="other", extracted={"need": "info", "timeline": "later"})
    assert await maria.says("Quero comprar") == ["Ótimo!", "Qual é o seu orçamento?"]
    assert maria.buttons() == ["under_1k", "1k_5k", "over_5k"]  # the flow's question keeps its buttons
    contact = await maria.contact()
    assert contact["custom_attributes"]["lead_need"] == "buy"
    assert contact["custom_attributes"]["lead_timeline"] == "later"

    # An answer the flow cannot read, which the LLM understands and extracts, is validated and taken.
    fake_openai.answer_with(reply="Entendi, um bom orçamento.", extracted={"budget": "over_5k"})
    assert await maria.says("uns vinte paus de mil") == ["Entendi, um bom orçamento.", "Você é quem decide a compra?"]
    # An extraction that is no valid answer is dropped, and the flow asks again with its hint replaced by
    # the LLM's words.
    fake_openai.answer_with(reply="Sem problema!", extracted={"role": "the boss's cousin"})
    assert await maria.says("hmm") == ["Sem problema!", "Você é quem decide a compra?"]
    contact = await maria.contact()
    assert contact["custom_attributes"]["lead_budget"] == "over_5k" and "lead_role" not in contact["custom_attributes"]

    # A question the knowledge base cannot answer: the LLM's reply instead of "I don't know", then the
    # pending question again; its intent still hands off, after the flow stored what it learned.
    fake_openai.answer_with(reply="Abrimos às 9h.", intent="schedule")
    assert await maria.says("Que horas vocês abrem?") == ["Abrimos às 9h.", "Você é quem decide a compra?"]
    fake_openai.answer_with(reply="Claro!", intent="human_request")
    await maria.says("sim, eu decido. pode me ligar alguém?")
    conversation = await maria.conversation()
    assert conversation["status"] == "open"
    note = next(m for m in await maria.messages() if m["private"])["content"]
    assert "human_request (LLM)" in note and "role: decider" in note
