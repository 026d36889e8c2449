"""Conversation filter, search, mute, unread, attachments and deletion, as a Chatwoot client uses them."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from tests.factories import Member, make_member


async def _setup(client: httpx.AsyncClient, member: Member) -> tuple[str, dict[str, Any]]:
    account = f"/api/v1/accounts/{member.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=member.headers)).json()
    return account, inbox


async def _conversation(client: httpx.AsyncClient, member: Member, account: str, inbox: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    contact = (await client.post(f"{account}/contacts", json={"name": name}, headers=member.headers)).json()["payload"]["contact"]
    created = await client.post(f"{account}/conversations",
                                json={"inbox_id": inbox["id"], "contact_id": contact["id"], **extra}, headers=member.headers)
    assert created.status_code == 200, created.text
    return created.json()


async def test_filter_conversations_by_status_assignee_labels_and_custom_attributes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    account, inbox = await _setup(client, admin)
    first = await _conversation(client, admin, account, inbox, "Ana", custom_attributes={"order_value": 900, "plan": "gold"})
    second = await _conversation(client, admin, account, inbox, "Bia", status="pending", custom_attributes={"order_value": 50})
    third = await _conversation(client, admin, account, inbox, "Caio", assignee_id=admin.user.id)
    await client.post(f"{account}/conversations/{second['id']}/labels", json={"labels": ["vip"]}, headers=admin.headers)

    async def ids(*payload: dict[str, Any]) -> list[int]:
        response = await client.post(f"{account}/conversations/filter", json={"payload": list(payload)}, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"meta", "payload"}
        assert body["meta"]["all_count"] == len(body["payload"])
        return sorted(c["id"] for c in body["payload"])

    def cond(key: str, op: str, values: Any, qo: str | None = None) -> dict[str, Any]:
        return {"attribute_key": key, "filter_operator": op, "values": values, "query_operator": qo}

    assert await ids(cond("status", "equal_to", ["open"])) == sorted([first["id"], third["id"]])
    assert await ids(cond("assignee_id", "equal_to", [admin.user.id])) == [third["id"]]
    assert await ids(cond("assignee_id", "is_not_present", [])) == sorted([first["id"], second["id"]])
    assert await ids(cond("labels", "equal_to", ["vip"])) == [second["id"]]
    assert await ids(cond("order_value", "is_greater_than", [100], "OR"), cond("labels", "equal_to", ["vip"])) == sorted([first["id"], second["id"]])
    assert await ids(cond("inbox_id", "equal_to", [inbox["id"]], "AND"), cond("plan", "equal_to", ["gold"])) == [first["id"]]
    assert await ids(cond("created_at", "is_less_than", ["2000-01-01"])) == []
    bad = await client.post(f"{account}/conversations/filter",
                            json={"payload": [cond("status", "equal_to", ["closed"])]}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json() == {"error": "Invalid value for status: closed"}
    bad = await client.post(f"{account}/conversations/filter",
                            json={"payload": [cond("assignee_id", "contains", ["1"])]}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["error"].startswith("Invalid operator.")


async def test_search_mute_unread_attachments_and_delete(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox = await _setup(client, admin)
    conversation = await _conversation(client, admin, account, inbox, "Ana")
    url = f"{account}/conversations/{conversation['id']}"
    incoming = await client.post(f"{url}/messages", json={"content": "Is the Blue Sneaker in stock?", "message_type": "incoming"},
                                 headers=admin.headers)
    assert incoming.status_code == 200, incoming.text
    await client.post(f"{url}/messages", data={"content": "photo"},
                      files={"attachments[]": ("shoe.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20, "image/png")}, headers=admin.headers)

    found = await client.get(f"{account}/conversations/search", params={"q": "blue sneaker"}, headers=admin.headers)
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["data"]["payload"]] == [conversation["id"]]
    nothing = await client.get(f"{account}/conversations/search", params={"q": "sandals"}, headers=admin.headers)
    assert nothing.json()["data"]["payload"] == []
    assert (await client.get(f"{account}/conversations/search", params={"q": " "}, headers=admin.headers)).status_code == 422

    assert (await client.post(f"{url}/mute", headers=admin.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).json()["muted"] is True
    assert (await client.post(f"{url}/unmute", headers=admin.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).json()["muted"] is False

    await client.post(f"{url}/update_last_seen", headers=admin.headers)
    assert (await client.get(url, headers=admin.headers)).json()["unread_count"] == 0
    unread = await client.post(f"{url}/unread", headers=admin.headers)
    assert unread.status_code == 200 and unread.json()["id"] == conversation["id"]
    assert (await client.get(url, headers=admin.headers)).json()["unread_count"] == 1

    attachments = (await client.get(f"{url}/attachments", headers=admin.headers)).json()
    assert attachments["meta"] == {"total_count": 1}
    assert attachments["payload"][0]["file_type"] == "image"

    agent = await make_member(runtime, admin.account, role=Role.agent)
    assert (await client.delete(url, headers=agent.headers)).status_code in (401, 404)
    assert (await client.delete(url, headers=admin.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).status_code == 404


async def test_participants_follow_a_conversation(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account, inbox = await _setup(client, admin)
    conversation = await _conversation(client, admin, account, inbox, "Ana")
    url = f"{account}/conversations/{conversation['id']}/participants"

    added = await client.post(url, json={"user_ids": [agent.user.id]}, headers=admin.headers)
    assert added.status_code == 200, added.text
    assert [a["id"] for a in added.json()] == [agent.user.id] and added.json()[0]["role"] == "agent"
    both = await client.post(url, json={"user_ids": [admin.user.id]}, headers=admin.headers)
    assert sorted(a["id"] for a in both.json()) == sorted([admin.user.id, agent.user.id])
    replaced = await client.patch(url, json={"user_ids": [admin.user.id]}, headers=admin.headers)
    assert [a["id"] for a in replaced.json()] == [admin.user.id]
    removed = await client.request("DELETE", url, json={"user_ids": [admin.user.id]}, headers=admin.headers)
    assert removed.json() == []
    assert (await client.get(url, headers=admin.headers)).json() == []
    stranger = await make_member(runtime)
    assert (await client.post(url, json={"user_ids": [stranger.user.id]}, headers=admin.headers)).status_code == 404


async def test_search_matches_quotes_backslashes_and_wildcards_literally(client: httpx.AsyncClient, runtime: Runtime) -> None:
    # The search pattern is inlined into the SQL (so PostgreSQL keeps its trigram index): quoting must hold.
    admin = await make_member(runtime)
    account, inbox = await _setup(client, admin)
    odd = await _conversation(client, admin, account, inbox, "Ana")
    plain = await _conversation(client, admin, account, inbox, "Bia")
    for conversation, content in ((odd, "it's 100% off_today \\o/ ''"), (plain, "its 1000 off today")):
        sent = await client.post(f"{account}/conversations/{conversation['id']}/messages",
                                 json={"content": content, "message_type": "incoming"}, headers=admin.headers)
        assert sent.status_code == 200, sent.text

    async def found(q: str) -> list[int]:
        response = await client.get(f"{account}/conversations/search", params={"q": q}, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]["payload"]]

    for q in ("it's", "100%", "off_", "\\o/", "''", "'; DROP TABLE messages; --"):
        assert await found(q) == ([] if q.startswith("';") else [odd["id"]]), q
    assert sorted(await found("off")) == sorted([odd["id"], plain["id"]])
