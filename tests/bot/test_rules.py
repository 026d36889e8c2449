"""Auto-reply rules: CRUD, the test endpoint, defaults, scoping, hours, counters, and rules in a live chat."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.devtools.fake_graph import FakeGraph
from nexa.runtime import Runtime
from tests.bot.harness import Customer
from tests.channels.whatsapp.helpers import WhatsAppInbox
from tests.factories import make_member


def rules_url(inbox: WhatsAppInbox) -> str:
    return f"{inbox.account_url}/bot/rules"


async def create_rule(client: httpx.AsyncClient, inbox: WhatsAppInbox, **fields: Any) -> dict[str, Any]:
    response = await client.post(rules_url(inbox), json=fields, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def rule_test(client: httpx.AsyncClient, inbox: WhatsAppInbox, text: str) -> dict[str, Any]:
    response = await client.post(f"{rules_url(inbox)}/test", json={"text": text, "inbox_id": inbox.id}, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_test_endpoint_says_which_rule_matched_and_why_in_priority_order(client: httpx.AsyncClient, bot_inbox: WhatsAppInbox) -> None:
    await create_rule(client, bot_inbox, name="Price", kind="keyword", keywords=["preço", "quanto custa"], reply="Planos a partir de R$ 99.", priority=50)
    await create_rule(client, bot_inbox, name="Order id", kind="pattern", pattern=r"pedido\s*#?\d{4,}", reply="Vou verificar seu pedido.", priority=10)
    assert (await rule_test(client, bot_inbox, "Qual o PRECO?"))["reason"] == "keyword 'preco' found"
    matched = await rule_test(client, bot_inbox, "meu pedido #12345 e o preço")
    assert matched["rule"]["name"] == "Order id" and matched["reason"] == "pattern matched 'pedido #12345'"
    assert (await rule_test(client, bot_inbox, "bom dia"))["matched"] is False


async def test_defaults_cover_greetings_thanks_and_goodbyes_in_three_languages_with_accents_folded(client: httpx.AsyncClient, bot_inbox: WhatsAppInbox) -> None:
    response = await client.post(f"{rules_url(bot_inbox)}/defaults", headers=bot_inbox.member.headers)
    assert response.status_code == 200, response.text
    again = await client.post(f"{rules_url(bot_inbox)}/defaults", headers=bot_inbox.member.headers)
    assert len(again.json()["payload"]) == len(response.json()["payload"]) == 4  # twice is harmless
    for text, kind in [("Olá, tudo bem?", "greeting"), ("OLA", "greeting"), ("¡Hola! buenos días", "greeting"), ("hi there", "greeting"),
                       ("obrigadaa", None), ("Muito obrigado!", "thanks"), ("muchas gracias", "thanks"), ("thank you", "thanks"),
                       ("tchau", "goodbye"), ("Adiós", "goodbye"), ("bye", "goodbye"), ("oi, quero um orçamento", None)]:
        found = await rule_test(client, bot_inbox, text)
        assert (found["rule"]["kind"] if found["matched"] else None) == kind, text


async def test_rules_are_scoped_to_inboxes_and_business_hours(client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox) -> None:
    closed_all_week = [{"day_of_week": d, "closed_all_day": True} for d in range(7)]
    response = await client.patch(f"{bot_inbox.account_url}/inboxes/{bot_inbox.id}",
                                  json={"working_hours_enabled": True, "working_hours": closed_all_week}, headers=bot_inbox.member.headers)
    assert response.status_code == 200, response.text
    await create_rule(client, bot_inbox, name="Open only", kind="keyword", keywords=["horario"], reply="Estamos abertos!", business_hours="open", priority=1)
    await create_rule(client, bot_inbox, name="Closed only", kind="keyword", keywords=["horario"], reply="Estamos fechados.", business_hours="closed", priority=2)
    await create_rule(client, bot_inbox, name="Other inbox", kind="keyword", keywords=["horario"], reply="x", inbox_ids=[], priority=0, enabled=False)
    found = await rule_test(client, bot_inbox, "qual o horário?")
    assert found["rule"]["name"] == "Closed only"
    assert found["skipped"] == ["Open only: matches, but only applies when the inbox is open"]


async def test_bad_rules_are_refused_plainly_and_other_accounts_rules_do_not_exist(client: httpx.AsyncClient, runtime: Runtime, bot_inbox: WhatsAppInbox) -> None:
    for fields, attribute in [
        ({"name": "x", "kind": "pattern", "pattern": "(", "reply": "y"}, "pattern"),
        ({"name": "x", "kind": "keyword", "keywords": [], "reply": "y"}, "keywords"),
        ({"name": "x", "kind": "keyword", "keywords": ["a"]}, "reply"),
        ({"name": "x", "kind": "keyword", "keywords": ["a"], "reply": "y", "inbox_ids": [999999]}, "inbox_ids"),
    ]:
        response = await client.post(rules_url(bot_inbox), json=fields, headers=bot_inbox.member.headers)
        assert response.status_code == 422, response.text
        assert attribute in response.text
    assert (await client.post(rules_url(bot_inbox), json={"name": "x", "kind": "nope"}, headers=bot_inbox.member.headers)).status_code == 422
    rule = await create_rule(client, bot_inbox, bot_rule={"name": "Wrapped", "kind": "keyword", "keywords": ["a"], "reply": "y"})
    other = await make_member(runtime)
    response = await client.get(f"/api/v1/accounts/{other.account.id}/bot/rules/{rule['id']}", headers=other.headers)
    assert response.status_code == 404
    response = await client.patch(f"{rules_url(bot_inbox)}/{rule['id']}", json={"priority": 5, "keywords": ["b"]}, headers=bot_inbox.member.headers)
    assert response.json()["keywords"] == ["b"] and response.json()["priority"] == 5
    assert (await client.delete(f"{rules_url(bot_inbox)}/{rule['id']}", headers=bot_inbox.member.headers)).status_code == 200
    assert (await client.get(rules_url(bot_inbox), headers=bot_inbox.member.headers)).json()["payload"] == []


async def test_a_catastrophic_pattern_times_out_instead_of_hanging_the_bot(client: httpx.AsyncClient, bot_inbox: WhatsAppInbox) -> None:
    await create_rule(client, bot_inbox, name="Evil", kind="pattern", pattern=r"^(a+)+$", reply="never", priority=1)
    await create_rule(client, bot_inbox, name="Fallback", kind="keyword", keywords=["aaaa"], reply="ok", priority=2)
    found = await rule_test(client, bot_inbox, "a" * 40 + "!")
    assert found["matched"] is False or found["rule"]["name"] == "Fallback"


async def test_in_a_chat_a_rule_answers_counts_its_use_and_a_handoff_rule_hands_off(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    price = await create_rule(client, bot_inbox, name="Price", kind="keyword", keywords=["quanto custa"], reply="Planos a partir de R$ 99.")
    await client.post(f"{rules_url(bot_inbox)}/defaults", headers=bot_inbox.member.headers)
    maria = Customer(client, runtime, fake_graph, bot_inbox)
    assert await maria.says("Olá!") == ["Olá! Eu sou Nexa, assistente virtual. Vou te fazer algumas perguntas rápidas para te ajudar melhor.",
                                          "O que você procura?"]
    assert await maria.says("Quanto custa?") == ["Planos a partir de R$ 99."]
    used = (await client.get(f"{rules_url(bot_inbox)}/{price['id']}", headers=bot_inbox.member.headers)).json()
    assert used["usage_count"] == 1 and used["last_used_at"] is not None
    await maria.says("Cadê meu pedido?")
    assert (await maria.conversation())["status"] == "open"
    assert "rule (Order problem)" in next(m for m in await maria.messages() if m["private"])["content"]
