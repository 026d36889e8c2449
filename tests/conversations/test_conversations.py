from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from nexa.analytics.models import ReportingEvent
from nexa.auth.models import Role
from nexa.contacts import service as contact_service
from nexa.conversations import service as conversation_service
from nexa.inboxes.models import Inbox
from nexa.runtime import Runtime
from tests.factories import Member, make_agent_bot, make_member


async def _setup(client: httpx.AsyncClient, member: Member, **inbox: Any) -> tuple[str, dict, dict]:
    account = f"/api/v1/accounts/{member.account.id}"
    created_inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api", **inbox}, headers=member.headers)).json()
    contact = (await client.post(f"{account}/contacts", json={"name": "Ana", "inbox_id": created_inbox["id"]}, headers=member.headers)).json()["payload"]["contact"]
    return account, created_inbox, contact


async def _open(client: httpx.AsyncClient, member: Member, account: str, inbox: dict, contact: dict, **extra: Any) -> dict:
    response = await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"], **extra}, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_conversation_from_start_to_resolution(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin)
    conversation = await _open(client, admin, account, inbox, contact)
    assert conversation["id"] == 1 and conversation["status"] == "open"
    assert conversation["meta"]["sender"]["id"] == contact["id"] and conversation["meta"]["channel"] == "Channel::Api"
    url = f"{account}/conversations/{conversation['id']}"

    incoming = await client.post(f"{url}/messages", json={"content": "Oi", "message_type": "incoming"}, headers=admin.headers)
    assert incoming.status_code == 200, incoming.text
    assert incoming.json()["message_type"] == 0 and incoming.json()["sender"]["type"] == "contact"
    waiting = (await client.get(url, headers=admin.headers)).json()
    assert waiting["waiting_since"] is not None and waiting["unread_count"] == 1

    note = await client.post(f"{url}/messages", json={"content": "VIP customer", "private": True}, headers=admin.headers)
    assert note.json()["private"] is True and note.json()["status"] == "sent"
    assert (await client.get(url, headers=admin.headers)).json()["first_reply_created_at"] is None

    reply = await client.post(f"{url}/messages", json={"content": "Olá, Ana!", "echo_id": "e-1"}, headers=admin.headers)
    assert reply.json()["message_type"] == 1 and reply.json()["status"] == "pending"
    assert reply.json()["conversation_id"] == conversation["id"] and reply.json()["sender"]["type"] == "user"
    replied = (await client.get(url, headers=admin.headers)).json()
    assert replied["first_reply_created_at"] is not None and replied["waiting_since"] is None
    assert replied["messages"][0]["content"] == "Olá, Ana!"

    resolved = await client.post(f"{url}/toggle_status", json={}, headers=admin.headers)
    assert resolved.json() == {"meta": {}, "payload": {"success": True, "conversation_id": conversation["id"], "current_status": "resolved", "snoozed_until": None}}
    reopened = await client.post(f"{url}/messages", json={"content": "Mais uma coisa", "message_type": "incoming"}, headers=admin.headers)
    assert reopened.status_code == 200
    assert (await client.get(url, headers=admin.headers)).json()["status"] == "open"

    async with runtime.db.session() as session:
        names = [e.name.value for e in (await session.scalars(select(ReportingEvent).order_by(ReportingEvent.id))).all()]
    assert names == ["first_response", "reply_time", "conversation_resolved", "conversation_opened"]


async def test_toggle_status_rules_and_self_assignment(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin)
    conversation = await _open(client, admin, account, inbox, contact, status="pending")
    url = f"{account}/conversations/{conversation['id']}"
    assert conversation["status"] == "pending"

    opened = await client.post(f"{url}/toggle_status", json={}, headers=admin.headers)
    assert opened.json()["payload"]["current_status"] == "open"
    assert (await client.get(url, headers=admin.headers)).json()["meta"]["assignee"]["id"] == admin.user.id

    no_until = await client.post(f"{url}/toggle_status", json={"status": "snoozed"}, headers=admin.headers)
    assert no_until.status_code == 422 and "snoozed_until" in no_until.json()["error"]
    snoozed = await client.post(f"{url}/toggle_status", json={"status": "snoozed", "snoozed_until": 4102444800}, headers=admin.headers)
    assert snoozed.json()["payload"] == {**snoozed.json()["payload"], "current_status": "snoozed", "snoozed_until": 4102444800}
    back = await client.post(f"{url}/toggle_status", json={}, headers=admin.headers)
    assert back.json()["payload"]["current_status"] == "open" and back.json()["payload"]["snoozed_until"] is None


async def test_bot_inbox_starts_pending_and_reopens_to_pending(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin, bot_enabled=True, lock_to_single_conversation=True)
    conversation = await _open(client, admin, account, inbox, contact)
    assert conversation["status"] == "pending"
    url = f"{account}/conversations/{conversation['id']}"
    await client.post(f"{url}/toggle_status", json={"status": "resolved"}, headers=admin.headers)
    await client.post(f"{url}/messages", json={"content": "voltei", "message_type": "incoming"}, headers=admin.headers)
    assert (await client.get(url, headers=admin.headers)).json()["status"] == "pending"

    async with runtime.db.session() as session:
        inbox_row = await session.get(Inbox, inbox["id"])
        assert inbox_row is not None
        found = await contact_service.find_or_create_by_phone(session, admin.account.id, "+5511987654321")
        contact_inbox = await contact_service.find_or_create_contact_inbox(session, found, inbox_row, "wa-1")
        first = await conversation_service.find_or_reopen_conversation(
            session, inbox=inbox_row, contact=found, contact_inbox=contact_inbox, latest=None
        )
        again = await conversation_service.find_or_reopen_conversation(
            session, inbox=inbox_row, contact=found, contact_inbox=contact_inbox, latest=first
        )
        assert first.id == again.id and first.status.value == "pending"


async def test_list_counts_filters_and_paging(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account, inbox, contact = await _setup(client, admin)
    await client.post(f"{account}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]}, headers=admin.headers)
    for _ in range(27):
        await _open(client, admin, account, inbox, contact)
    await _open(client, admin, account, inbox, contact, assignee_id=agent.user.id)
    labelled = await _open(client, admin, account, inbox, contact, status="pending")
    await client.post(f"{account}/conversations/{labelled['id']}/labels", json={"labels": ["vip"]}, headers=admin.headers)

    first = await client.get(f"{account}/conversations", params={"assignee_type": "all"}, headers=admin.headers)
    body = first.json()["data"]
    assert body["meta"] == {"mine_count": 0, "assigned_count": 1, "unassigned_count": 27, "all_count": 28}
    assert len(body["payload"]) == 25
    second = await client.get(f"{account}/conversations", params={"assignee_type": "all", "page": 2}, headers=admin.headers)
    assert len(second.json()["data"]["payload"]) == 3
    ids = [c["id"] for c in body["payload"] + second.json()["data"]["payload"]]
    assert ids == sorted(ids, reverse=True)  # latest activity first

    mine = await client.get(f"{account}/conversations", params={"assignee_type": "me"}, headers=agent.headers)
    assert [c["meta"]["assignee"]["id"] for c in mine.json()["data"]["payload"]] == [agent.user.id]
    everything = await client.get(f"{account}/conversations", params={"status": "all", "labels[]": "vip", "assignee_type": "all"}, headers=admin.headers)
    assert [c["id"] for c in everything.json()["data"]["payload"]] == [labelled["id"]]
    assert everything.json()["data"]["payload"][0]["labels"] == ["vip"]
    pending = await client.get(f"{account}/conversations/meta", params={"status": "pending"}, headers=admin.headers)
    assert pending.json() == {"meta": {"mine_count": 0, "assigned_count": 0, "unassigned_count": 1, "all_count": 1}}
    other_inbox = await client.get(f"{account}/conversations", params={"inbox_id": inbox["id"] + 1000, "assignee_type": "all"}, headers=admin.headers)
    assert other_inbox.json()["data"]["meta"]["all_count"] == 0
    by_contact = await client.get(f"{account}/contacts/{contact['id']}/conversations", headers=admin.headers)
    assert len(by_contact.json()["payload"]) == 29


async def test_message_cursors_and_soft_delete(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin)
    conversation = await _open(client, admin, account, inbox, contact)
    url = f"{account}/conversations/{conversation['id']}/messages"
    ids = [(await client.post(url, json={"content": f"m{i}"}, headers=admin.headers)).json()["id"] for i in range(45)]

    latest = (await client.get(url, headers=admin.headers)).json()
    assert [m["id"] for m in latest["payload"]] == ids[-20:]
    assert latest["meta"]["contact"]["id"] == contact["id"]
    older = (await client.get(url, params={"before": ids[25]}, headers=admin.headers)).json()
    assert [m["id"] for m in older["payload"]] == ids[5:25]
    newer = (await client.get(url, params={"after": ids[40]}, headers=admin.headers)).json()
    assert [m["id"] for m in newer["payload"]] == ids[41:]
    between = (await client.get(url, params={"after": ids[2], "before": ids[6]}, headers=admin.headers)).json()
    assert [m["id"] for m in between["payload"]] == ids[3:6]

    deleted = await client.delete(f"{url}/{ids[0]}", headers=admin.headers)
    assert deleted.json()["content"] == "This message was deleted" and deleted.json()["content_attributes"]["deleted"] is True

    not_api = (await client.post(f"{account}/inboxes", json={"name": "TG", "channel": {"type": "telegram", "bot_token": "123456:telegram-token"}}, headers=admin.headers)).json()
    tg_conversation = await _open(client, admin, account, not_api, contact)
    refused = await client.post(f"{account}/conversations/{tg_conversation['id']}/messages", json={"content": "x", "message_type": "incoming"}, headers=admin.headers)
    assert refused.status_code == 422 and refused.json() == {"error": "Incoming messages are only allowed in Api inboxes"}


async def test_assignments_priority_and_custom_attributes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin)
    conversation = await _open(client, admin, account, inbox, contact)
    url = f"{account}/conversations/{conversation['id']}"
    team = (await client.post(f"{account}/teams", json={"name": "suporte"}, headers=admin.headers)).json()

    assigned = await client.post(f"{url}/assignments", json={"assignee_id": admin.user.id}, headers=admin.headers)
    assert assigned.json()["id"] == admin.user.id and assigned.json()["role"] == "administrator"
    to_team = await client.post(f"{url}/assignments", json={"team_id": team["id"]}, headers=admin.headers)
    assert to_team.json()["name"] == "suporte"
    unassigned = await client.post(f"{url}/assignments", json={"assignee_id": None}, headers=admin.headers)
    assert unassigned.json() is None
    shown = (await client.get(url, headers=admin.headers)).json()
    assert shown["meta"]["assignee"] is None and shown["meta"]["team"]["id"] == team["id"]

    assert (await client.post(f"{url}/toggle_priority", json={"priority": "urgent"}, headers=admin.headers)).status_code == 200
    assert (await client.patch(url, json={"priority": "low"}, headers=admin.headers)).json()["priority"] == "low"
    bad = await client.patch(url, json={"priority": "whenever"}, headers=admin.headers)
    assert bad.status_code == 422

    attrs = await client.post(f"{url}/custom_attributes", json={"custom_attributes": {"order": "A1"}}, headers=admin.headers)
    assert attrs.json() == {"custom_attributes": {"order": "A1"}}
    replaced = await client.post(f"{url}/custom_attributes", json={"custom_attributes": {"cpf": "1"}}, headers=admin.headers)
    assert replaced.json() == {"custom_attributes": {"cpf": "1"}}


async def test_moving_to_another_team_unassigns_an_agent_who_is_not_in_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    seller = await make_member(runtime, admin.account)
    account, inbox, contact = await _setup(client, admin)
    conversation = await _open(client, admin, account, inbox, contact)
    url = f"{account}/conversations/{conversation['id']}"
    teams = {}
    for name, members in (("vendas", [seller.user.id]), ("vip", [seller.user.id]), ("suporte", [admin.user.id])):
        teams[name] = (await client.post(f"{account}/teams", json={"name": name}, headers=admin.headers)).json()["id"]
        added = await client.post(f"{account}/teams/{teams[name]}/team_members", json={"user_ids": members}, headers=admin.headers)
        assert added.status_code == 200, added.text

    async def assignee_and_team() -> tuple[int | None, int | None]:
        meta = (await client.get(url, headers=admin.headers)).json()["meta"]
        return (meta["assignee"] or {}).get("id"), (meta["team"] or {}).get("id")

    await client.post(f"{url}/assignments", json={"assignee_id": seller.user.id}, headers=admin.headers)
    await client.post(f"{url}/assignments", json={"team_id": teams["vendas"]}, headers=admin.headers)
    assert await assignee_and_team() == (seller.user.id, teams["vendas"])  # a member of it: kept
    await client.post(f"{url}/assignments", json={"team_id": teams["vip"]}, headers=admin.headers)
    assert await assignee_and_team() == (seller.user.id, teams["vip"])
    await client.post(f"{url}/assignments", json={"team_id": teams["suporte"]}, headers=admin.headers)
    assert await assignee_and_team() == (None, teams["suporte"])  # not in it: the conversation waits for the team
    await client.post(f"{url}/assignments", json={"team_id": None}, headers=admin.headers)
    await client.post(f"{url}/assignments", json={"assignee_id": admin.user.id}, headers=admin.headers)
    assert await assignee_and_team() == (admin.user.id, None)  # no team: anyone of the inbox may have it


async def test_agent_bot_tokens_reach_only_bot_endpoints(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin)
    _, token = await make_agent_bot(runtime, admin.account)
    bot = {"api_access_token": token}
    created = await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "pending"}, headers=bot)
    assert created.status_code == 200, created.text
    url = f"{account}/conversations/{created.json()['id']}"

    reply = await client.post(f"{url}/messages", json={"content": "Sou o bot"}, headers=bot)
    assert reply.status_code == 200 and reply.json()["sender"]["type"] == "agent_bot"
    assert (await client.post(f"{url}/toggle_priority", json={"priority": "high"}, headers=bot)).status_code == 200
    assert (await client.patch(url, json={"priority": "low"}, headers=bot)).status_code == 200
    assert (await client.post(f"{url}/custom_attributes", json={"custom_attributes": {}}, headers=bot)).status_code == 200
    assert (await client.post(f"{url}/assignments", json={"team_id": None}, headers=bot)).status_code == 200
    handoff = await client.post(f"{url}/toggle_status", json={"status": "open"}, headers=bot)
    assert handoff.json()["payload"]["current_status"] == "open"
    silenced = await client.post(f"{url}/messages", json={"content": "ainda aqui"}, headers=bot)
    assert silenced.status_code == 422  # bots never speak to the customer after handoff

    for method, path in [("GET", f"{account}/conversations"), ("GET", url), ("GET", f"{url}/messages"),
                         ("POST", f"{url}/labels"), ("GET", f"{account}/contacts"), ("GET", f"{account}/inboxes"),
                         ("GET", f"{account}/labels"), ("GET", f"{account}/teams"), ("GET", f"{account}/canned_responses")]:
        response = await client.request(method, path, json={"labels": []}, headers=bot)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"error": "Access to this endpoint is not authorized for bots"}


async def test_another_accounts_conversation_is_not_found(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime)
    stranger = await make_member(runtime)
    account, inbox, contact = await _setup(client, owner)
    conversation = await _open(client, owner, account, inbox, contact)
    message = (await client.post(f"{account}/conversations/{conversation['id']}/messages", json={"content": "x"}, headers=owner.headers)).json()
    mine_account, _, _ = await _setup(client, stranger)
    url = f"/api/v1/accounts/{stranger.account.id}/conversations/{conversation['id']}"
    for method, path, body in [
        ("GET", url, None), ("PATCH", url, {"priority": "low"}), ("POST", f"{url}/toggle_status", {}),
        ("POST", f"{url}/toggle_priority", {}), ("POST", f"{url}/custom_attributes", {"custom_attributes": {}}),
        ("POST", f"{url}/assignments", {"assignee_id": None}), ("GET", f"{url}/labels", None),
        ("POST", f"{url}/labels", {"labels": []}), ("GET", f"{url}/messages", None),
        ("POST", f"{url}/messages", {"content": "x"}), ("DELETE", f"{url}/messages/{message['id']}", None),
    ]:
        response = await client.request(method, path, json=body, headers=stranger.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"error": "Resource could not be found"}
    foreign_create = await client.post(f"{mine_account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=stranger.headers)
    assert foreign_create.status_code == 404


async def test_display_ids_are_unique_under_concurrency(runtime: Runtime) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        inbox = Inbox(account_id=member.account.id, name="x", channel_type="api", public_id="race-inbox-id")
        session.add(inbox)
        await session.flush()
        contact = await contact_service.find_or_create_by_phone(session, member.account.id, "+5511912345678")
        inbox_id, contact_id = inbox.id, contact.id

    async def create_one() -> int:
        async with runtime.db.session() as session:
            inbox_row = await session.get(Inbox, inbox_id)
            contact_row = await contact_service.find_or_create_by_phone(session, member.account.id, "+5511912345678")
            assert inbox_row is not None and contact_row.id == contact_id
            conversation = await conversation_service.create_conversation(session, inbox=inbox_row, contact=contact_row, contact_inbox=None)
            return conversation.display_id

    display_ids = await asyncio.gather(*(create_one() for _ in range(20)))
    assert sorted(display_ids) == list(range(1, 21))


async def test_ids_too_large_for_a_row_are_not_found_and_a_nul_search_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account, inbox, contact = await _setup(client, admin)
    conversation = await _open(client, admin, account, inbox, contact)
    huge = 2**64  # no row has it; the drivers fail on it (SQLite: OverflowError)
    for method, path, body in [
        ("GET", f"{account}/conversations/{huge}", None),
        ("POST", f"{account}/conversations/{huge}/toggle_typing_status", {"typing_status": "off"}),
        ("DELETE", f"{account}/conversations/{conversation['id']}/messages/{huge}", None),
        ("PATCH", f"{account}/conversations/{conversation['id']}/messages/{huge}", {"status": "read"}),
    ]:
        response = await client.request(method, path, json=body, headers=admin.headers)
        assert response.status_code == 404, (method, path, response.text)

    for search in (f"{account}/conversations/search", f"{account}/contacts/search"):
        refused = await client.get(search, params={"q": "Oi\x00"}, headers=admin.headers)
        assert refused.status_code == 422, refused.text
        assert "NUL" in refused.text
