from __future__ import annotations

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_agents_keep_canned_responses_and_search_them(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    base = f"/api/v1/accounts/{admin.account.id}/canned_responses"

    hello = await client.post(base, json={"short_code": "hello", "content": "Olá! Como posso ajudar?"}, headers=agent.headers)
    assert hello.status_code == 200, hello.text
    assert hello.json()["short_code"] == "hello"
    wrapped = await client.post(
        base, json={"canned_response": {"short_code": "price", "content": "Our hello price list"}}, headers=agent.headers
    )
    assert wrapped.status_code == 200
    taken = await client.post(base, json={"short_code": "hello", "content": "x"}, headers=agent.headers)
    assert taken.json() == {"message": "Short code has already been taken", "attributes": ["short_code"]}
    missing = await client.post(base, json={"short_code": "x"}, headers=agent.headers)
    assert missing.status_code == 422

    everything = await client.get(base, headers=agent.headers)
    assert [c["short_code"] for c in everything.json()] == ["hello", "price"]
    found = await client.get(base, params={"search": "HELLO"}, headers=agent.headers)
    assert [c["short_code"] for c in found.json()] == ["hello", "price"]  # short-code match ranks first
    assert [c["short_code"] for c in (await client.get(base, params={"search": "list"}, headers=agent.headers)).json()] == ["price"]

    canned_id = hello.json()["id"]
    changed = await client.patch(f"{base}/{canned_id}", json={"content": "Oi!"}, headers=agent.headers)
    assert changed.json()["content"] == "Oi!"
    assert (await client.delete(f"{base}/{canned_id}", headers=agent.headers)).status_code == 200

    stranger = await make_member(runtime)
    other = f"/api/v1/accounts/{stranger.account.id}/canned_responses/{wrapped.json()['id']}"
    assert (await client.patch(other, json={"content": "x"}, headers=stranger.headers)).status_code == 404
    assert (await client.delete(other, headers=stranger.headers)).status_code == 404
