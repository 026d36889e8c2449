"""Agents' notifications: created by mentions in private notes and by assignments, read through Chatwoot's
API, announced on the notified user's own channel only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from nexa.auth.models import Role
from nexa.bot.models import BotConversation
from nexa.conversations import service
from nexa.conversations.models import Conversation
from nexa.inboxes.models import Inbox
from nexa.realtime import EventName, Hub, MemoryBus, account_channel, set_hub, user_channel
from nexa.runtime import Runtime
from tests.factories import Member, make_agent_bot, make_member
from tests.realtime.conftest import received


@dataclass
class Setup:
    admin: Member
    agent: Member  # a member of the inbox
    outsider: Member  # an agent of the account who is not a member of the inbox
    stranger: Member  # an administrator of another account
    base: str
    display_id: int
    conversation_id: int  # the row id

    @property
    def url(self) -> str:
        return f"{self.base}/conversations/{self.display_id}"

    async def note(
        self, client: httpx.AsyncClient, author: Member, content: str, *, private: bool = True
    ) -> None:
        response = await client.post(
            f"{self.url}/messages", json={"content": content, "private": private}, headers=author.headers
        )
        assert response.status_code == 200, response.text

    async def notifications(self, client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
        response = await client.get(f"{self.base}/notifications", headers=member.headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]


async def _setup(client: httpx.AsyncClient, runtime: Runtime) -> Setup:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    outsider = await make_member(runtime, admin.account, role=Role.agent)
    stranger = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}"
    inbox = (
        await client.post(
            f"{base}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers
        )
    ).json()
    members = await client.post(
        f"{base}/inbox_members",
        json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]},
        headers=admin.headers,
    )
    assert members.status_code == 200, members.text
    contact = (
        await client.post(
            f"{base}/contacts", json={"name": "Ana Cliente", "inbox_id": inbox["id"]}, headers=admin.headers
        )
    ).json()["payload"]["contact"]
    created = (
        await client.post(
            f"{base}/conversations",
            json={"inbox_id": inbox["id"], "contact_id": contact["id"]},
            headers=admin.headers,
        )
    ).json()
    async with runtime.db.session(write=False) as session:
        row = await session.scalar(
            select(Conversation).where(
                Conversation.account_id == admin.account.id, Conversation.display_id == created["id"]
            )
        )
        assert row is not None
    return Setup(admin, agent, outsider, stranger, base, created["id"], row.id)


def _markup(member: Member) -> str:
    return f"[@{member.user.name}](mention://user/{member.user.id}/{member.user.name})"


async def test_a_private_note_notifies_the_members_it_mentions_and_nobody_else(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    await s.note(
        client,
        s.admin,
        f"{_markup(s.agent)} @{s.outsider.user.name} {_markup(s.stranger)} "
        f"@{s.admin.user.name} please call the customer back",
    )
    data = await s.notifications(client, s.agent)
    assert data["meta"] == {"unread_count": 1, "count": 1, "current_page": 1}
    (mention,) = data["payload"]
    assert mention["notification_type"] == "conversation_mention"
    assert mention["primary_actor_type"] == "Conversation" and mention["primary_actor_id"] == s.display_id
    assert mention["primary_actor"]["id"] == s.display_id
    assert mention["primary_actor"]["meta"]["sender"]["name"] == "Ana Cliente"
    assert (
        mention["secondary_actor"]["id"] == s.admin.user.id and mention["secondary_actor"]["type"] == "user"
    )
    assert mention["user"]["id"] == s.agent.user.id and mention["read_at"] is None
    assert mention["message_id"] is not None
    assert mention["push_message_title"].startswith(
        f"[#{s.display_id}] @{s.agent.user.name} @{s.outsider.user.name}"
    )
    # Not the author, not an agent who cannot see the inbox, not another account's user.
    for member in (s.admin, s.outsider):
        assert (await s.notifications(client, member))["meta"]["count"] == 0
    stranger = await client.get(
        f"/api/v1/accounts/{s.stranger.account.id}/notifications", headers=s.stranger.headers
    )
    assert stranger.json()["data"]["meta"]["count"] == 0


async def test_a_plain_at_name_mentions_and_a_public_message_does_not(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    await s.note(client, s.admin, f"@{s.agent.user.name} this is for the customer", private=False)
    assert (await s.notifications(client, s.agent))["meta"]["count"] == 0
    await s.note(client, s.agent, f"ok @{s.admin.user.name.upper()}, done")
    (mention,) = (await s.notifications(client, s.admin))["payload"]
    assert mention["notification_type"] == "conversation_mention"
    assert mention["secondary_actor"]["id"] == s.agent.user.id


async def test_assignment_notifies_the_assignee_unless_they_took_it_themselves(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    taken = await client.post(
        f"{s.url}/assignments", json={"assignee_id": s.agent.user.id}, headers=s.agent.headers
    )
    assert taken.status_code == 200, taken.text
    assert (await s.notifications(client, s.agent))["meta"]["count"] == 0
    await client.post(f"{s.url}/assignments", json={"assignee_id": s.admin.user.id}, headers=s.agent.headers)
    (assignment,) = (await s.notifications(client, s.admin))["payload"]
    assert assignment["notification_type"] == "conversation_assignment"
    assert assignment["secondary_actor"]["id"] == s.agent.user.id
    assert (
        assignment["push_message_title"] == f"Uma conversa (#{s.display_id}) foi atribuída a você"
    )  # account: pt-BR


async def test_a_conversation_created_assigned_notifies_its_assignee(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    inbox_id = (await client.get(s.url, headers=s.admin.headers)).json()["inbox_id"]
    contact_id = (await client.get(s.url, headers=s.admin.headers)).json()["meta"]["sender"]["id"]
    created = await client.post(
        f"{s.base}/conversations",
        headers=s.admin.headers,
        json={
            "inbox_id": inbox_id,
            "contact_id": contact_id,
            "assignee_id": s.agent.user.id,
        },
    )
    assert created.status_code == 200, created.text
    (assignment,) = (await s.notifications(client, s.agent))["payload"]
    assert assignment["primary_actor_id"] == created.json()["id"]


async def test_auto_assignment_of_a_lead_the_bot_qualified_says_so(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    bot_id, _ = await make_agent_bot(runtime, s.admin.account)
    async with runtime.db.session() as session:
        conversation = await session.get(Conversation, s.conversation_id)
        assert conversation is not None
        inbox = await session.get(Inbox, conversation.inbox_id)
        assert inbox is not None
        handed_off_at = conversation.waiting_since = conversation.created_at
        session.add(
            BotConversation(
                account_id=s.admin.account.id,
                conversation_id=conversation.id,
                answers={},
                handed_off_at=handed_off_at,
                handoff_reason="qualified",
            )
        )
        await session.flush()
        await service.assign_agent(session, conversation, s.agent.user.id, inbox=inbox, actor=service.SYSTEM)
        # Not auto-assignment: a plain assignment, naming who did it.
        await service.assign_agent(
            session, conversation, s.admin.user.id, inbox=inbox, actor=service.Actor(agent_bot_id=bot_id)
        )
    (handoff,) = (await s.notifications(client, s.agent))["payload"]
    assert handoff["notification_type"] == "qualified_lead_handoff" and handoff["secondary_actor"] is None
    assert handoff["push_message_title"] == f"O bot passou a você um lead qualificado (#{s.display_id})"
    (by_bot,) = (await s.notifications(client, s.admin))["payload"]
    assert by_bot["notification_type"] == "conversation_assignment"
    assert by_bot["secondary_actor"] == {**by_bot["secondary_actor"], "id": bot_id, "type": "agent_bot"}


async def test_reading_and_deleting(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime)
    await s.note(client, s.admin, f"first {_markup(s.agent)}")
    await s.note(client, s.admin, f"second {_markup(s.agent)}")
    newest, oldest = (await s.notifications(client, s.agent))["payload"]
    url = f"{s.base}/notifications"
    assert (await client.get(f"{url}/unread_count", headers=s.agent.headers)).json() == 2

    read = await client.patch(f"{url}/{oldest['id']}", headers=s.agent.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert (await client.get(f"{url}/unread_count", headers=s.agent.headers)).json() == 1
    # Another user's notification, even in the same account, is not found.
    assert (await client.patch(f"{url}/{newest['id']}", headers=s.admin.headers)).status_code == 404
    assert (await client.delete(f"{url}/{newest['id']}", headers=s.admin.headers)).status_code == 404

    other = (
        await client.post(
            f"{s.base}/conversations",
            headers=s.admin.headers,
            json={
                "inbox_id": (await client.get(s.url, headers=s.admin.headers)).json()["inbox_id"],
                "contact_id": newest["primary_actor"]["meta"]["sender"]["id"],
            },
        )
    ).json()
    by_other = await client.post(
        f"{url}/read_all",
        headers=s.agent.headers,
        json={"primary_actor_type": "Conversation", "primary_actor_id": other["id"]},
    )
    assert by_other.status_code == 200
    assert (await client.get(f"{url}/unread_count", headers=s.agent.headers)).json() == 1
    unknown = await client.post(f"{url}/read_all", headers=s.agent.headers, json={"primary_actor_id": 10**9})
    assert unknown.status_code == 404
    by_this = await client.post(
        f"{url}/read_all",
        headers=s.agent.headers,
        json={"primary_actor_type": "Conversation", "primary_actor_id": s.display_id},
    )
    assert by_this.status_code == 200
    assert (await client.get(f"{url}/unread_count", headers=s.agent.headers)).json() == 0

    assert (await client.delete(f"{url}/{newest['id']}", headers=s.agent.headers)).status_code == 200
    assert (await s.notifications(client, s.agent))["meta"] == {
        "unread_count": 0,
        "count": 1,
        "current_page": 1,
    }
    assert (await client.post(f"{url}/read_all", headers=s.agent.headers)).status_code == 200


async def test_pages_hold_fifteen_newest_first(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime)
    for number in range(17):
        await s.note(client, s.admin, f"{number} {_markup(s.agent)}")
    first = await s.notifications(client, s.agent)
    second = (await client.get(f"{s.base}/notifications?page=2", headers=s.agent.headers)).json()["data"]
    assert len(first["payload"]) == 15 and len(second["payload"]) == 2
    assert second["meta"] == {"unread_count": 17, "count": 17, "current_page": 2}
    assert first["payload"][0]["push_message_title"].startswith(f"[#{s.display_id}] 16 @")
    assert second["payload"][-1]["push_message_title"].startswith(f"[#{s.display_id}] 0 @")


async def test_agent_bots_have_no_notifications(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime)
    _, token = await make_agent_bot(runtime, s.admin.account)
    response = await client.get(f"{s.base}/notifications", headers={"api_access_token": token})
    assert response.status_code in (401, 403)


async def test_the_event_reaches_the_notified_user_only(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime)
    hub = Hub(MemoryBus(), queue_size=64)
    await hub.start()
    set_hub(hub)
    try:
        async with (
            hub.connect([user_channel(s.agent.user.id)]) as agent,
            hub.connect([user_channel(s.admin.user.id), account_channel(s.admin.account.id)]) as admin,
            hub.connect([user_channel(s.outsider.user.id)]) as outsider,
        ):
            await s.note(client, s.admin, f"look {_markup(s.agent)}")
            agent_events, admin_events, outsider_events = await received(agent, admin, outsider)
    finally:
        set_hub(None)
        await hub.stop()
    (created,) = agent_events
    assert created.name == EventName.NOTIFICATION_CREATED
    assert created.data["unread_count"] == 1 and created.data["count"] == 1
    assert created.data["notification"]["notification_type"] == "conversation_mention"
    assert created.data["account_id"] == s.admin.account.id
    assert not [e for e in admin_events if e.name.value.startswith("notification.")]
    assert outsider_events == []


async def test_opening_the_conversation_reads_its_notifications(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    await s.note(client, s.admin, f"here {_markup(s.agent)}")
    await s.note(client, s.agent, f"and you @{s.admin.user.name}")
    seen = await client.post(f"{s.url}/update_last_seen", headers=s.agent.headers)
    assert seen.status_code == 200, seen.text
    assert (await s.notifications(client, s.agent))["meta"]["unread_count"] == 0
    assert (await s.notifications(client, s.admin))["meta"]["unread_count"] == 1  # only the viewer's own


async def test_a_team_mention_notifies_its_members_who_see_the_conversation(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime)
    team = (await client.post(f"{s.base}/teams", json={"name": "Vendas"}, headers=s.admin.headers)).json()
    members = [s.admin.user.id, s.agent.user.id, s.outsider.user.id]
    added = await client.post(
        f"{s.base}/teams/{team['id']}/team_members", json={"user_ids": members}, headers=s.admin.headers
    )
    assert added.status_code == 200, added.text
    await s.note(client, s.admin, f"[@Vendas](mention://team/{team['id']}/Vendas) who takes it?")
    (mention,) = (await s.notifications(client, s.agent))["payload"]
    assert mention["notification_type"] == "conversation_mention"
    assert mention["push_message_title"] == f"[#{s.display_id}] @Vendas who takes it?"
    # Not the author; not a team member who is not an agent of the inbox.
    for member in (s.admin, s.outsider):
        assert (await s.notifications(client, member))["meta"]["count"] == 0
