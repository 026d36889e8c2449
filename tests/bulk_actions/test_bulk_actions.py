"""POST /bulk_actions: checked in the request, applied by a job through the single-conversation services."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from nexa.auth.models import Role
from nexa.conversations.models import Message, MessageType
from nexa.jobs.models import Job
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.bot.harness import settle
from tests.factories import Member, make_member


async def _inbox(client: httpx.AsyncClient, admin: Member, name: str) -> dict[str, Any]:
    base = f"/api/v1/accounts/{admin.account.id}"
    return (await client.post(f"{base}/inboxes", json={"name": name, "channel_type": "api"}, headers=admin.headers)).json()


async def _conversations(client: httpx.AsyncClient, admin: Member, inbox: dict[str, Any], count: int) -> list[int]:
    base = f"/api/v1/accounts/{admin.account.id}"
    contact = (await client.post(f"{base}/contacts", json={"name": "Ana", "inbox_id": inbox["id"]},
                                 headers=admin.headers)).json()["payload"]["contact"]
    ids = []
    for _ in range(count):
        created = await client.post(f"{base}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]},
                                    headers=admin.headers)
        assert created.status_code == 200, created.text
        ids.append(created.json()["id"])
    return ids


async def _show(client: httpx.AsyncClient, member: Member, display_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/accounts/{member.account.id}/conversations/{display_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _bulk(client: httpx.AsyncClient, member: Member, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/accounts/{member.account.id}/bulk_actions", json=body, headers=member.headers)


async def test_bulk_resolve_assign_team_and_labels_run_as_a_job(
    client: httpx.AsyncClient, runtime: Runtime, worker: Worker
) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    inbox = await _inbox(client, admin, "API")
    base = f"/api/v1/accounts/{admin.account.id}"
    await client.post(f"{base}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]},
                      headers=admin.headers)
    team = (await client.post(f"{base}/teams", json={"name": "Sales"}, headers=admin.headers)).json()
    ids = await _conversations(client, admin, inbox, 3)

    assigned = await _bulk(client, admin, {"type": "Conversation", "ids": ids,
                                           "fields": {"assignee_id": agent.user.id, "team_id": team["id"]}})
    assert assigned.status_code == 200 and assigned.json() == {}
    await settle(runtime)
    for display_id in ids:
        shown = await _show(client, admin, display_id)
        assert shown["meta"]["assignee"]["id"] == agent.user.id and shown["meta"]["team"]["id"] == team["id"]

    labelled = await _bulk(client, admin, {"type": "Conversation", "ids": ids[:2], "labels": {"add": ["vip", "lead"]}})
    assert labelled.status_code == 200
    await settle(runtime)
    unlabelled = await _bulk(client, admin, {"type": "Conversation", "ids": ids, "labels": {"remove": ["lead"]}})
    assert unlabelled.status_code == 200
    await settle(runtime)
    assert [(await _show(client, admin, d))["labels"] for d in ids] == [["vip"], ["vip"], []]

    resolved = await _bulk(client, agent, {"type": "Conversation", "ids": ids, "fields": {"status": "resolved"}})
    assert resolved.status_code == 200
    await settle(runtime)
    assert {(await _show(client, admin, d))["status"] for d in ids} == {"resolved"}
    # Each conversation got the lines a single change writes (the account speaks pt-BR), by whoever asked.
    messages = (await client.get(f"{base}/conversations/{ids[0]}/messages", headers=admin.headers)).json()["payload"]
    lines = [m["content"] for m in messages if m["message_type"] == 2]
    assert lines == [
        f"Atribuída à equipe sales por {admin.user.name}",
        f"Atribuída a {agent.user.name} por {admin.user.name}",
        f"{admin.user.name} adicionou lead, vip",
        f"{admin.user.name} removeu lead",
        f"Conversa marcada como resolvida por {agent.user.name}",
    ]

    # Unassigning and reopening: null clears, status open.
    reopened = await _bulk(client, admin, {"type": "Conversation", "ids": ids,
                                           "fields": {"status": "open", "assignee_id": None, "team_id": None}})
    assert reopened.status_code == 200
    await settle(runtime)
    shown = await _show(client, admin, ids[1])
    assert shown["status"] == "open" and shown["meta"].get("assignee") is None and shown["meta"].get("team") is None


async def test_a_large_bulk_resolve_answers_before_the_work_is_done(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """No worker here: the request only enqueues; the job, run afterwards, changes them all in batches
    (60: more than one transaction's worth)."""
    admin = await make_member(runtime)
    inbox = await _inbox(client, admin, "API")
    ids = await _conversations(client, admin, inbox, 60)
    response = await _bulk(client, admin, {"type": "Conversation", "ids": ids, "fields": {"status": "resolved"}})
    assert response.status_code == 200 and response.json() == {}
    assert {(await _show(client, admin, d))["status"] for d in ids[:3]} == {"open"}
    async with runtime.db.session(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "bulk_actions.apply")) == 1
    worker = Worker(runtime.db, runtime.settings)
    await worker.start()
    try:
        await settle(runtime, timeout=60)
    finally:
        await worker.stop(timeout=5)
    listed = await client.get(f"/api/v1/accounts/{admin.account.id}/conversations", params={"status": "resolved"},
                              headers=admin.headers)
    assert listed.json()["data"]["meta"]["all_count"] == 60
    async with runtime.db.session(write=False) as session:
        lines = await session.scalar(select(func.count()).select_from(Message).where(
            Message.account_id == admin.account.id, Message.message_type == MessageType.activity))
    assert lines == 60


@pytest.mark.parametrize("body, status, error", [
    ({"type": "Contact", "ids": [1], "fields": {"status": "resolved"}}, 422, None),
    ({"type": "Conversation", "ids": [], "fields": {"status": "resolved"}}, 422, None),
    ({"type": "Conversation", "ids": list(range(1, 1002)), "fields": {"status": "resolved"}}, 422, None),
    ({"type": "Conversation", "ids": [1]}, 422, {"error": "Send fields or labels to change"}),
    ({"type": "Conversation", "ids": [1], "labels": {"add": []}}, 422, {"error": "Send fields or labels to change"}),
    ({"type": "Conversation", "ids": [1], "fields": {"status": "closed"}}, 422, None),
    ({"type": "Conversation", "ids": [1], "fields": {"status": "snoozed"}}, 422,
     {"error": "snoozed_until is required to snooze a conversation"}),
    ({"type": "Conversation", "ids": [1, 99], "fields": {"status": "resolved"}}, 404, None),
    ({"type": "Conversation", "ids": [1], "fields": {"team_id": 999}}, 404, None),
    ({"type": "Conversation", "ids": [1], "fields": {"assignee_id": 999}}, 404, None),
])
async def test_bad_requests_are_refused_whole_and_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, Any], status: int, error: dict[str, Any] | None
) -> None:
    admin = await make_member(runtime)
    inbox = await _inbox(client, admin, "API")
    await _conversations(client, admin, inbox, 1)
    response = await _bulk(client, admin, body)
    assert response.status_code == status, response.text
    if error is not None:
        assert response.json() == error
    async with runtime.db.session(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "bulk_actions.apply")) == 0


async def test_agents_act_only_on_conversations_of_their_inboxes(
    client: httpx.AsyncClient, runtime: Runtime, worker: Worker
) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    other = await make_member(runtime, admin.account, role=Role.agent)
    base = f"/api/v1/accounts/{admin.account.id}"
    mine, theirs = await _inbox(client, admin, "Mine"), await _inbox(client, admin, "Theirs")
    await client.post(f"{base}/inbox_members", json={"inbox_id": mine["id"], "user_ids": [agent.user.id]},
                      headers=admin.headers)
    [own] = await _conversations(client, admin, mine, 1)
    [hidden] = await _conversations(client, admin, theirs, 1)

    refused = await _bulk(client, agent, {"type": "Conversation", "ids": [own, hidden], "fields": {"status": "resolved"}})
    assert refused.status_code == 404
    # Assigning someone who is not a member of every selected conversation's inbox: refused whole.
    not_member = await _bulk(client, admin, {"type": "Conversation", "ids": [own, hidden],
                                             "fields": {"assignee_id": agent.user.id}})
    assert not_member.status_code == 422
    assert not_member.json() == {"message": "Assignee is not a member of this inbox", "attributes": ["assignee_id"]}
    not_member = await _bulk(client, admin, {"type": "Conversation", "ids": [own], "fields": {"assignee_id": other.user.id}})
    assert not_member.status_code == 422
    await settle(runtime)
    assert (await _show(client, admin, hidden))["status"] == "open"

    accepted = await _bulk(client, agent, {"type": "Conversation", "ids": [own], "fields": {"status": "resolved"}})
    assert accepted.status_code == 200
    await settle(runtime)
    assert (await _show(client, admin, own))["status"] == "resolved"
