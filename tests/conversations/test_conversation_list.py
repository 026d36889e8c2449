"""The conversation list's server-computed fields (can_reply, reply_window_closes_at, queue_position) and
its fixed number of statements per page."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, select, update

from nexa.auth.models import Role
from nexa.conversations.models import Attachment, Conversation, FileType, Message, MessageType, SenderType
from nexa.kit.clock import to_unix, utcnow
from nexa.runtime import Runtime
from tests.factories import Member, make_member, whatsapp_channel

_phones = itertools.count(987_650_000)


async def _conversation(client: httpx.AsyncClient, member: Member, inbox: dict, name: str, **extra: Any) -> dict:
    account = f"/api/v1/accounts/{member.account.id}"
    body = {"name": name, "inbox_id": inbox["id"], "phone_number": f"+5511{next(_phones)}"}
    contact = (await client.post(f"{account}/contacts", json=body, headers=member.headers)).json()["payload"]["contact"]
    response = await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"], **extra},
                                 headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _inbox(client: httpx.AsyncClient, member: Member, **body: Any) -> dict:
    kind = {} if "channel" in body else {"channel_type": "api"}
    response = await client.post(f"/api/v1/accounts/{member.account.id}/inboxes", json={"name": "API", **kind, **body},
                                 headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _internal(runtime: Runtime, account_id: int, display_id: int) -> Conversation:
    async with runtime.db.session() as session:
        found = await session.scalar(
            select(Conversation).where(Conversation.account_id == account_id, Conversation.display_id == display_id)
        )
        assert found is not None
        return found


async def _customer_wrote(runtime: Runtime, conversation: Conversation, hours_ago: float) -> None:
    """A customer message as the WhatsApp pipeline stores it, `hours_ago`."""
    async with runtime.db.session() as session:
        session.add(Message(
            account_id=conversation.account_id, conversation_id=conversation.id, inbox_id=conversation.inbox_id,
            message_type=MessageType.incoming, content="Oi", sender_type=SenderType.contact,
            sender_id=conversation.contact_id, created_at=utcnow() - timedelta(hours=hours_ago),
        ))


async def test_can_reply_follows_the_whatsapp_window_and_the_reply_check(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"
    whatsapp = await _inbox(client, admin, name="WA", channel=whatsapp_channel())
    api = await _inbox(client, admin)
    on_whatsapp = await _conversation(client, admin, whatsapp, "Ana")
    on_api = await _conversation(client, admin, api, "Bia")
    url = f"{account}/conversations/{on_whatsapp['id']}"

    async def shown() -> tuple[dict, dict]:
        listed = (await client.get(f"{account}/conversations", params={"assignee_type": "all"}, headers=admin.headers)).json()
        by_id = {c["id"]: c for c in listed["data"]["payload"]}
        return by_id[on_whatsapp["id"]], (await client.get(url, headers=admin.headers)).json()

    # The customer never wrote: only templates (the window closed "long ago").
    for conversation in await shown():
        assert conversation["can_reply"] is False and conversation["reply_window_closes_at"] == 0
    refused = await client.post(f"{url}/messages", json={"content": "Olá"}, headers=admin.headers)
    assert refused.status_code == 422

    internal = await _internal(runtime, admin.account.id, on_whatsapp["id"])
    await _customer_wrote(runtime, internal, hours_ago=25)
    for conversation in await shown():
        assert conversation["can_reply"] is False
    assert (await client.post(f"{url}/messages", json={"content": "Olá"}, headers=admin.headers)).status_code == 422

    await _customer_wrote(runtime, internal, hours_ago=1)
    for conversation in await shown():
        assert conversation["can_reply"] is True
        closes_in = conversation["reply_window_closes_at"] - to_unix(utcnow())
        assert 23 * 3600 - 60 < closes_in <= 23 * 3600
    assert (await client.post(f"{url}/messages", json={"content": "Olá"}, headers=admin.headers)).status_code == 200

    # Channels without a window always may reply.
    api_shown = (await client.get(f"{account}/conversations/{on_api['id']}", headers=admin.headers)).json()
    assert api_shown["can_reply"] is True and api_shown["reply_window_closes_at"] is None


async def _waiting(runtime: Runtime, account_id: int, display_id: int, minutes_ago: float | None, **values: Any) -> None:
    async with runtime.db.session() as session:
        since = utcnow() - timedelta(minutes=minutes_ago) if minutes_ago is not None else None
        await session.execute(
            update(Conversation)
            .where(Conversation.account_id == account_id, Conversation.display_id == display_id)
            .values(waiting_since=since, **values)
        )


async def test_queue_position_ranks_the_accounts_waiting_conversations(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    other = await make_member(runtime)
    account_id = admin.account.id
    first_inbox, second_inbox = await _inbox(client, admin, name="Sales"), await _inbox(client, admin, name="Support")
    # The other account's conversations waited longer; they must not count here.
    other_inbox = await _inbox(client, other)
    for minutes in (500, 400):
        theirs = await _conversation(client, other, other_inbox, "Zé")
        await _waiting(runtime, other.account.id, theirs["id"], minutes)

    waited = {}
    for name, inbox, minutes in [("a", first_inbox, 30), ("b", second_inbox, 90), ("c", first_inbox, 60),
                                 ("d", second_inbox, 10), ("no clock", first_inbox, None)]:
        created = await _conversation(client, admin, inbox, name)
        await _waiting(runtime, account_id, created["id"], minutes)
        waited[name] = created["id"]
    assigned = await _conversation(client, admin, first_inbox, "assigned", assignee_id=admin.user.id)
    await _waiting(runtime, account_id, assigned["id"], 300)
    with_bot = await _conversation(client, admin, first_inbox, "bot", status="pending")
    await _waiting(runtime, account_id, with_bot["id"], 300)

    async def positions(**params: Any) -> dict[int, int | None]:
        response = await client.get(f"/api/v1/accounts/{account_id}/conversations",
                                    params={"assignee_type": "all", "status": "all", **params}, headers=admin.headers)
        return {c["id"]: c["queue_position"] for c in response.json()["data"]["payload"]}

    # Longest waiting first, as bot.assign_queue hands them out; no clock last.
    expected = {waited["b"]: 1, waited["c"]: 2, waited["a"]: 3, waited["d"]: 4, waited["no clock"]: 5,
                assigned["id"]: None, with_bot["id"]: None}
    assert await positions() == expected
    # Ranks are the account's, not the page's: one inbox's rows keep their place in the whole queue.
    assert await positions(inbox_id=second_inbox["id"]) == {waited["b"]: 1, waited["d"]: 4}
    assert (await client.get(f"/api/v1/accounts/{account_id}/conversations/{waited['a']}",
                             headers=admin.headers)).json()["queue_position"] == 3
    theirs_listed = await client.get(f"/api/v1/accounts/{other.account.id}/conversations",
                                     params={"assignee_type": "all"}, headers=other.headers)
    assert sorted(c["queue_position"] for c in theirs_listed.json()["data"]["payload"]) == [1, 2]

    # Taking one moves everyone behind it up.
    taken = await client.post(f"/api/v1/accounts/{account_id}/conversations/{waited['c']}/assignments",
                              json={"assignee_id": admin.user.id}, headers=admin.headers)
    assert taken.status_code == 200
    assert (await positions(assignee_type="unassigned", status="open")) == {
        waited["b"]: 1, waited["a"]: 2, waited["d"]: 3, waited["no clock"]: 4}


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.split(maxsplit=1)[0].upper() != "BEGIN":  # SQLite's BEGIN IMMEDIATE (nexa/db/engine.py)
            seen.append(statement)

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)


async def test_a_page_costs_the_same_few_statements_whatever_its_size(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account = f"/api/v1/accounts/{admin.account.id}"
    api = await _inbox(client, admin)
    whatsapp = await _inbox(client, admin, name="WA", channel=whatsapp_channel())
    team = (await client.post(f"{account}/teams", json={"name": "Sales"}, headers=admin.headers)).json()
    for inbox in (api, whatsapp):
        await client.post(f"{account}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]},
                          headers=admin.headers)
    # Every conversation has everything a row shows: contact, assignee, team, labels, a last message by
    # someone else than the assignee (an administrator) with a file, unread customer messages, a queue rank.
    for index in range(26):
        inbox = whatsapp if index % 2 else api
        assignee = {"assignee_id": agent.user.id} if index % 3 else {}
        created = await _conversation(client, admin, inbox, f"Customer {index}", team_id=team["id"], **assignee)
        url = f"{account}/conversations/{created['id']}"
        await client.post(f"{url}/labels", json={"labels": ["vip", f"l{index % 4}"]}, headers=admin.headers)
        internal = await _internal(runtime, admin.account.id, created["id"])
        await _customer_wrote(runtime, internal, hours_ago=2)
        await _waiting(runtime, admin.account.id, created["id"], index)
        async with runtime.db.session() as session:
            reply = Message(account_id=internal.account_id, conversation_id=internal.id, inbox_id=internal.inbox_id,
                            message_type=MessageType.outgoing, content="Segue o boleto", sender_type=SenderType.user,
                            sender_id=admin.user.id)
            session.add(reply)
            await session.flush()
            session.add(Attachment(account_id=internal.account_id, message_id=reply.id, file_type=FileType.file,
                                   external_url="https://files.example.com/boleto.pdf", meta={}))

    async def page(**params: Any) -> tuple[int, list[dict]]:
        with statements(runtime) as seen:
            response = await client.get(f"{account}/conversations", params={"assignee_type": "all", **params},
                                        headers=admin.headers)
        assert response.status_code == 200, response.text
        return len(seen), response.json()["data"]["payload"]

    full_count, full = await page()
    small_count, small = await page(**{"labels[]": "l1"})
    assert len(full) == 25 and len(small) == 7
    row = full[0]
    assert row["last_non_activity_message"]["attachments"][0]["file_type"] == "file"
    assert row["last_non_activity_message"]["sender"]["id"] == admin.user.id
    assert row["unread_count"] == 1 and row["meta"]["team"]["id"] == team["id"]
    assert all(c["labels"] == ["l1", "vip"] for c in small)  # by title
    assert full_count == small_count
    # auth (4) + counts + page + details + attachments + the administrator as sender (membership, user)
    assert full_count <= 10
