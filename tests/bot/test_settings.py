"""Bot settings: an account's own questions and scoring, validated, and the bot using them at once."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.auth.models import Role
from nexa.devtools.fake_graph import FakeGraph
from nexa.runtime import Runtime
from tests.bot.harness import Customer
from tests.channels.whatsapp.helpers import WhatsAppInbox
from tests.factories import make_member

CLINIC = {
    "persona_name": "Bia",
    "languages": ["pt"],
    "threshold": 6,
    "fields": [
        {"key": "budget", "type": "number", "question": {"pt": "Quanto pretende investir?"},
         "scores": [{"min": 5000, "points": 3, "reason": "budget > R$ 5k: +3"},
                    {"min": 1000, "max": 4999.99, "points": 1, "reason": "budget R$ 1-5k: +1"}]},
        {"key": "phone", "type": "phone", "question": {"pt": "Qual o melhor telefone para contato?"},
         "scores": [{"present": True, "points": 1, "reason": "left a phone: +1"}]},
    ],
}


async def test_an_account_asks_its_own_questions_and_scores_with_its_own_weights(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    url = f"{bot_inbox.account_url}/bot/settings"
    defaults = (await client.get(url, headers=bot_inbox.member.headers)).json()
    assert defaults["threshold"] == 7 and [f["key"] for f in defaults["fields"]] == ["need", "budget", "timeline", "role", "email"]
    response = await client.put(url, json=CLINIC, headers=bot_inbox.member.headers)
    assert response.status_code == 200, response.text

    maria = Customer(client, runtime, fake_graph, bot_inbox)
    assert await maria.says("Oi") == ["Quanto pretende investir?"]
    [hint] = await maria.says("bastante")
    assert hint.startswith("Pode me responder com um número?")
    assert await maria.says("uns R$ 3.500") == ["Qual o melhor telefone para contato?"]
    await maria.says("11 91234-5678")
    contact = await maria.contact()
    assert contact["custom_attributes"]["lead_phone"] == "+5511912345678"
    assert contact["lead_score_reasons"] == ["budget R$ 1-5k: +1", "left a phone: +1"]
    assert contact["lead_score"] == 1 + round(9 * 2 / 4) and (await maria.conversation())["status"] == "pending"

    ana = Customer(client, runtime, fake_graph, bot_inbox, number="5511955554444")
    await ana.says("Olá")
    await ana.says("10 mil")
    assert (await ana.conversation())["status"] == "open"  # 3 of 4 points: 8 >= 6
    assert (await ana.contact())["lead_score_reasons"] == ["budget > R$ 5k: +3"]


async def test_bad_settings_are_refused_and_only_administrators_change_them(
    client: httpx.AsyncClient, runtime: Runtime, bot_inbox: WhatsAppInbox
) -> None:
    url = f"{bot_inbox.account_url}/bot/settings"
    for bad in ({**CLINIC, "languages": ["fr"]}, {**CLINIC, "threshold": 11}, {**CLINIC, "surprise": 1},
                {**CLINIC, "fields": [{"key": "x", "type": "choice", "question": {"pt": "?"}}]},
                {**CLINIC, "fields": CLINIC["fields"] * 2},
                {**CLINIC, "fields": [{"key": "x", "type": "choice", "question": {"pt": "?"},
                                       "choices": [{"value": "a", "label": {"pt": "Um rótulo longo demais para um botão"}}]}]}):
        response = await client.put(url, json=bad, headers=bot_inbox.member.headers)
        assert response.status_code == 422, response.text
    agent = await make_member(runtime, bot_inbox.member.account, role=Role.agent)
    assert (await client.get(url, headers=agent.headers)).status_code == 200
    assert (await client.put(url, json=CLINIC, headers=agent.headers)).status_code == 401  # Chatwoot answers 401 to a role without the right
    other = await make_member(runtime)
    assert (await client.get(f"/api/v1/accounts/{bot_inbox.member.account.id}/bot/settings", headers=other.headers)).status_code in (401, 403, 404)
