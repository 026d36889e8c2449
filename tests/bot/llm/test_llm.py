"""The bot's LLM step: an admin connects an OpenAI-compatible server, and each bot turn asks it for a reply,
an intent and the lead fields, within a timeout, a circuit breaker and a daily token budget."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import select

from nexa.auth.models import Role
from nexa.bot.llm.breaker import RedisCircuitBreaker
from nexa.bot.llm.models import LLMConfig, LLMUsage
from nexa.bot.llm.service import LLMTurn, llm_turn
from nexa.contacts.models import Contact
from nexa.conversations.models import Conversation, Message
from nexa.devtools.fake_openai import DEFAULT_CHAT_MODEL, FakeOpenAI
from nexa.runtime import Runtime
from tests.factories import Member, make_member


@dataclass(frozen=True)
class Hit:
    document_id: int
    title: str
    content: str
    score: float


PRICING = Hit(1, "Price list 2026", "Plano Pro: R$ 199 por mês. Plano Basic: R$ 99 por mês.", 0.92)


def llm_url(member: Member) -> str:
    return f"/api/v1/accounts/{member.account.id}/bot/llm"


async def configure(client: httpx.AsyncClient, member: Member, fake: FakeOpenAI, **overrides: Any) -> dict[str, Any]:
    body = {
        "base_url": fake.base_url, "model": DEFAULT_CHAT_MODEL, "api_key": fake.api_key,
        "persona": "Você é a Bia, consultora da Loja Azul.", "instructions": "Ofereça a demo gratuita.",
        **overrides,
    }
    response = await client.put(llm_url(member), json=body, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def customer_conversation(client: httpx.AsyncClient, member: Member, *messages: dict[str, Any]) -> int:
    """A pending (bot) conversation on an API inbox with `messages` posted in order; its display id."""
    account = f"/api/v1/accounts/{member.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=member.headers)).json()
    contact = (await client.post(f"{account}/contacts", json={"name": "Ana", "inbox_id": inbox["id"]}, headers=member.headers)).json()["payload"]["contact"]
    conversation = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "pending"}, headers=member.headers)).json()
    for message in messages:
        posted = await client.post(f"{account}/conversations/{conversation['id']}/messages", json=message, headers=member.headers)
        assert posted.status_code == 200, posted.text
    return conversation["id"]


def says(content: str) -> dict[str, Any]:
    return {"content": content, "message_type": "incoming"}


async def bot_turn(runtime: Runtime, member: Member, display_id: int, *, knowledge: tuple[Hit, ...] = (),
                   qualification: dict[str, Any] | None = None) -> LLMTurn | None:
    """What the bot runner does: load the conversation, its contact and history, then ask the LLM outside
    any transaction."""
    async with runtime.db.session(write=False) as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.account_id == member.account.id, Conversation.display_id == display_id)
        )
        assert conversation is not None
        contact = await session.get(Contact, conversation.contact_id)
        history = (await session.scalars(select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id))).all()
    return await llm_turn(
        runtime.db, account_id=member.account.id, conversation=conversation, contact=contact, history=history,
        knowledge=knowledge, qualification=qualification or {},
    )


async def test_without_an_llm_the_bot_gets_none(client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI) -> None:
    admin = await make_member(runtime)
    display_id = await customer_conversation(client, admin, says("Oi"))
    assert await bot_turn(runtime, admin, display_id) is None

    shown = (await client.get(llm_url(admin), headers=admin.headers)).json()
    assert shown["configured"] is False and shown["api_key_set"] is False and shown["max_history_messages"] == 12

    await configure(client, admin, fake_openai, enabled=False)
    assert await bot_turn(runtime, admin, display_id) is None
    assert fake_openai.chat_requests == []


async def test_a_turn_replies_classifies_and_extracts_with_persona_knowledge_and_history(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    await configure(client, admin, fake_openai, max_history_messages=3)
    display_id = await customer_conversation(
        client, admin, says("Oi"), {"content": "Olá! Como posso ajudar?"}, says("Queria saber dos planos"),
        {"content": "Cliente parece interessado", "private": True},
        says("Quanto custa o plano Pro? Meu nome é Ana, ana@example.com"),
    )
    fake_openai.answer_with(
        reply="O plano Pro custa R$ 199 por mês (Price list 2026). Quer agendar uma demo?",
        intent="price_question", extracted={"name": "Ana", "email": "ana@example.com", "budget": None},
    )

    turn = await bot_turn(runtime, admin, display_id, knowledge=(PRICING,), qualification={"need": "CRM"})

    assert turn is not None
    assert turn.reply == "O plano Pro custa R$ 199 por mês (Price list 2026). Quer agendar uma demo?"
    assert turn.intent == "price_question" and dict(turn.extracted) == {"name": "Ana", "email": "ana@example.com"}
    assert turn.tokens > 0
    [request] = fake_openai.chat_requests
    assert request.json["model"] == DEFAULT_CHAT_MODEL and request.json["response_format"]["type"] == "json_schema"
    system = request.system_prompt
    assert "Você é a Bia, consultora da Loja Azul." in system and "Ofereça a demo gratuita." in system
    assert "[Price list 2026]" in system and "R$ 199" in system and '"need": "CRM"' in system
    assert "language the customer writes in" in system and "Never invent prices" in system
    # The last 3 customer/business messages, private note excluded, in order and roles.
    assert request.messages[1:] == [
        {"role": "assistant", "content": "Olá! Como posso ajudar?"},
        {"role": "user", "content": "Queria saber dos planos"},
        {"role": "user", "content": "Quanto custa o plano Pro? Meu nome é Ana, ana@example.com"},
    ]


async def test_servers_without_json_schema_fall_back_to_json_mode_then_plain_text(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    await configure(client, admin, fake_openai)
    display_id = await customer_conversation(client, admin, says("Hello, I want to talk to a human"))
    fake_openai.json_schema_supported = False

    turn = await bot_turn(runtime, admin, display_id)
    assert turn is not None and turn.intent == "human_request"
    assert [r.json.get("response_format", {}).get("type") for r in fake_openai.chat_requests] == ["json_schema", "json_object"]

    fake_openai.json_object_supported = False
    fake_openai.requests.clear()
    fake_openai.answer_raw('Sure! ```json\n{"reply": "Hi there", "intent": "greeting", "extracted": {}}\n```')
    turn = await bot_turn(runtime, admin, display_id)
    assert turn == LLMTurn(reply="Hi there", intent="greeting", extracted={}, tokens=turn.tokens)
    # What worked is remembered: the next turn goes straight to the mode the server supports.
    assert [r.json.get("response_format", {}).get("type") for r in fake_openai.chat_requests] == ["json_object", None]


async def test_failures_open_the_circuit_and_it_recovers(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    await configure(client, admin, fake_openai, timeout_seconds=0.3, breaker_failure_threshold=3, breaker_open_seconds=1)
    display_id = await customer_conversation(client, admin, says("Oi"))

    fake_openai.latency = 1.0
    assert await bot_turn(runtime, admin, display_id) is None  # timed out
    fake_openai.latency = 0.0
    fake_openai.fail_next(1, status=500)
    assert await bot_turn(runtime, admin, display_id) is None
    fake_openai.answer_raw("{not json")
    assert await bot_turn(runtime, admin, display_id) is None
    assert len(fake_openai.chat_requests) == 3

    # Open: the bot falls back at once, the server is not called.
    assert (await client.get(llm_url(admin), headers=admin.headers)).json()["circuit"] == "open"
    assert await bot_turn(runtime, admin, display_id) is None
    assert len(fake_openai.chat_requests) == 3

    await asyncio.sleep(1.1)  # half-open: one probe goes out; it fails, so the circuit opens again
    fake_openai.fail_next(1, status=429, retry_after=5)
    assert await bot_turn(runtime, admin, display_id) is None
    assert await bot_turn(runtime, admin, display_id) is None
    assert len(fake_openai.chat_requests) == 4

    await asyncio.sleep(1.1)  # a successful probe closes it
    assert (turn := await bot_turn(runtime, admin, display_id)) is not None and turn.intent == "greeting"
    assert await bot_turn(runtime, admin, display_id) is not None
    assert len(fake_openai.chat_requests) == 6
    assert (await client.get(llm_url(admin), headers=admin.headers)).json()["circuit"] == "closed"


async def test_a_success_resets_the_count_of_consecutive_failures(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    await configure(client, admin, fake_openai, breaker_failure_threshold=2)
    display_id = await customer_conversation(client, admin, says("Oi"))
    for _ in range(3):
        fake_openai.fail_next(1)
        assert await bot_turn(runtime, admin, display_id) is None
        assert await bot_turn(runtime, admin, display_id) is not None
    assert len(fake_openai.chat_requests) == 6


async def test_usage_is_counted_per_conversation_and_the_daily_budget_stops_calls(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    await configure(client, admin, fake_openai)
    first = await customer_conversation(client, admin, says("Oi"))
    second = await customer_conversation(client, admin, says("Hola, ¿cuánto cuesta?"))

    one = await bot_turn(runtime, admin, first)
    two = await bot_turn(runtime, admin, first)
    three = await bot_turn(runtime, admin, second)
    assert one and two and three
    async with runtime.db.session() as session:
        rows = (await session.scalars(select(LLMUsage).order_by(LLMUsage.conversation_id))).all()
    assert [(r.calls, r.total_tokens) for r in rows] == [(2, one.tokens + two.tokens), (1, three.tokens)]
    assert rows[0].prompt_tokens + rows[0].completion_tokens == rows[0].total_tokens
    report = (await client.get(f"{llm_url(admin)}/usage?days=7", headers=admin.headers)).json()
    [today] = report["days"]
    assert today["calls"] == 3 and today["total_tokens"] == one.tokens + two.tokens + three.tokens
    assert report["conversations"][0] == {"conversation_id": first, "calls": 2, "total_tokens": one.tokens + two.tokens}
    assert (await client.get(f"{llm_url(admin)}/usage?days=0", headers=admin.headers)).status_code == 422

    spent = one.tokens + two.tokens + three.tokens
    shown = await configure(client, admin, fake_openai, daily_token_budget=spent)
    assert shown["tokens_used_today"] == spent
    assert await bot_turn(runtime, admin, first) is None
    assert len(fake_openai.chat_requests) == 3  # refused before calling

    await configure(client, admin, fake_openai, daily_token_budget=None)
    assert await bot_turn(runtime, admin, first) is not None


async def test_the_api_key_is_never_returned_and_settings_are_admin_only(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    shown = await configure(client, admin, fake_openai, api_key="sk-secret-123", temperature=0.7, reply_language="pt-BR")
    assert shown["api_key_set"] is True and shown["configured"] is True and shown["temperature"] == 0.7
    assert "sk-secret-123" not in str(shown) and "api_key" not in shown
    assert "sk-secret-123" not in (await client.get(llm_url(admin), headers=admin.headers)).text
    async with runtime.db.session() as session:
        stored = await session.scalar(select(LLMConfig))
    assert stored is not None and "sk-secret-123" not in (stored.api_key_encrypted or "")
    assert runtime.cipher.decrypt(stored.api_key_encrypted) == "sk-secret-123"

    # Changing other fields keeps the key; null removes it. Rails-wrapped bodies work too.
    kept = await client.put(llm_url(admin), json={"llm": {"model": "other-model"}}, headers=admin.headers)
    assert kept.json()["api_key_set"] is True and kept.json()["model"] == "other-model"
    removed = await client.put(llm_url(admin), json={"api_key": None}, headers=admin.headers)
    assert removed.json()["api_key_set"] is False

    # A key encrypted under a retired NEXA_ENCRYPTION_KEY: said plainly, never a 500.
    async with runtime.db.session() as session:
        (await session.scalar(select(LLMConfig))).api_key_encrypted = "gAAAAA-not-ours"
    undecryptable = (await client.post(f"{llm_url(admin)}/test", headers=admin.headers)).json()
    assert undecryptable["ok"] is False and "cannot be decrypted" in undecryptable["message"]

    bad = await client.put(llm_url(admin), json={"base_url": "not a url", "temperature": 5}, headers=admin.headers)
    assert bad.status_code == 422 and set(bad.json()["attributes"]) == {"base_url", "temperature"}
    null_model = await client.put(llm_url(admin), json={"model": None}, headers=admin.headers)
    assert null_model.status_code == 422 and "model" in null_model.json()["error"]

    agent = await make_member(runtime, admin.account, role=Role.agent)
    assert (await client.get(llm_url(agent), headers=agent.headers)).status_code == 401
    assert (await client.put(llm_url(agent), json={"model": "x"}, headers=agent.headers)).status_code == 401


async def test_another_accounts_llm_is_not_used_or_seen(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    owner = await make_member(runtime)
    other = await make_member(runtime)
    await configure(client, owner, fake_openai, persona="Secret persona")
    display_id = await customer_conversation(client, other, says("Oi"))

    assert await bot_turn(runtime, other, display_id) is None
    shown = (await client.get(llm_url(other), headers=other.headers)).json()
    assert shown["configured"] is False and shown["persona"] == ""
    assert (await client.get(llm_url(owner), headers=other.headers)).status_code == 401
    assert (await client.post(f"{llm_url(other)}/test", headers=other.headers)).status_code == 422
    assert fake_openai.chat_requests == []


async def test_the_test_button_says_what_happened(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    not_yet = await client.post(f"{llm_url(admin)}/test", headers=admin.headers)
    assert not_yet.status_code == 422 and "No LLM is configured" in not_yet.json()["error"]

    await configure(client, admin, fake_openai)
    ok = (await client.post(f"{llm_url(admin)}/test", json={"message": "Hola, quiero agendar una demo"}, headers=admin.headers)).json()
    assert ok["ok"] is True and ok["intent"] == "schedule" and ok["structured_output"] == "json_schema"
    assert ok["message"].startswith(f"{DEFAULT_CHAT_MODEL} at {fake_openai.base_url} answered in ") and ok["tokens"] > 0
    assert fake_openai.chat_requests[-1].messages[-1] == {"role": "user", "content": "Hola, quiero agendar una demo"}
    assert (await client.get(llm_url(admin), headers=admin.headers)).json()["tokens_used_today"] == ok["tokens"]

    await configure(client, admin, fake_openai, api_key="wrong")
    refused = (await client.post(f"{llm_url(admin)}/test", headers=admin.headers)).json()
    assert refused["ok"] is False and refused["message"] == f"{fake_openai.base_url} refused the API key (HTTP 401)"

    await configure(client, admin, fake_openai, model="gpt-nope")
    unknown = (await client.post(f"{llm_url(admin)}/test", headers=admin.headers)).json()
    assert "does not know model gpt-nope" in unknown["message"]

    await configure(client, admin, fake_openai)
    fake_openai.fail_next(1, status=429, retry_after=7)
    limited = (await client.post(f"{llm_url(admin)}/test", headers=admin.headers)).json()
    assert limited["ok"] is False and "HTTP 429" in limited["message"] and "retry after 7 s" in limited["message"]

    await configure(client, admin, fake_openai, timeout_seconds=0.2)
    fake_openai.latency = 1.0
    slow = (await client.post(f"{llm_url(admin)}/test", headers=admin.headers)).json()
    assert slow["ok"] is False and slow["message"] == f"No answer from {fake_openai.base_url} within 0.2 s"

    fake_openai.latency = 0.0
    await configure(client, admin, fake_openai, base_url="http://127.0.0.1:9/v1")
    unreachable = (await client.post(f"{llm_url(admin)}/test", headers=admin.headers)).json()
    assert unreachable["ok"] is False and unreachable["message"].startswith("Could not connect to http://127.0.0.1:9/v1")


async def test_the_circuit_is_shared_by_processes_through_redis(redis_url: str) -> None:
    account_id = 10**9 + uuid.uuid4().int % 10**6
    first_process, second_process = Redis.from_url(redis_url), Redis.from_url(redis_url)
    mine, theirs = RedisCircuitBreaker(first_process), RedisCircuitBreaker(second_process)
    try:
        await mine.failed(account_id, threshold=2, open_seconds=1)
        assert await theirs.allow(account_id, probe_seconds=5)
        await theirs.failed(account_id, threshold=2, open_seconds=1)
        assert await mine.state(account_id) == "open" and not await mine.allow(account_id, probe_seconds=5)

        await asyncio.sleep(1.1)
        assert await theirs.state(account_id) == "half_open"
        assert await mine.allow(account_id, probe_seconds=5)  # the one probe
        assert not await theirs.allow(account_id, probe_seconds=5)
        await mine.succeeded(account_id)
        assert await theirs.state(account_id) == "closed" and await theirs.allow(account_id, probe_seconds=5)
    finally:
        await mine.succeeded(account_id)
        await first_process.aclose()
        await second_process.aclose()


async def test_with_redis_down_the_circuit_is_kept_in_the_process() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    breaker = RedisCircuitBreaker(unreachable)
    try:
        assert await breaker.allow(7, probe_seconds=5)
        await breaker.failed(7, threshold=2, open_seconds=30)
        await breaker.failed(7, threshold=2, open_seconds=30)
        assert await breaker.state(7) == "open" and not await breaker.allow(7, probe_seconds=5)
        await breaker.succeeded(7)
        assert await breaker.state(7) == "closed"
    finally:
        await unreachable.aclose()
