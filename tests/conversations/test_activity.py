"""Activity lines: written by the service functions that change a conversation, in the account's language,
naming who acted; agents see them, the customer never does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select

from nexa.auth.models import Role
from nexa.conversations import activity, service
from nexa.conversations.models import Conversation, ConversationStatus, Message, MessageType, Priority
from nexa.inboxes.models import Inbox
from nexa.jobs.models import Job
from nexa.kit.clock import utcnow
from nexa.kit.i18n import SUPPORTED_LOCALES
from nexa.runtime import Runtime
from nexa.tenancy.models import Account
from tests.factories import Member, make_agent_bot, make_member


@dataclass
class Setup:
    admin: Member
    agent: Member
    account_url: str
    conversation_id: int  # the row id
    display_id: int
    team_id: int

    @property
    def url(self) -> str:
        return f"{self.account_url}/conversations/{self.display_id}"


async def _setup(client: httpx.AsyncClient, runtime: Runtime, locale: str) -> Setup:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    async with runtime.db.session() as session:
        account = await session.get(Account, admin.account.id)
        assert account is not None
        account.locale = locale
    base = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{base}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    members = await client.post(f"{base}/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [agent.user.id]},
                                headers=admin.headers)
    assert members.status_code == 200, members.text
    contact = (await client.post(f"{base}/contacts", json={"name": "Ana", "inbox_id": inbox["id"]},
                                 headers=admin.headers)).json()["payload"]["contact"]
    created = (await client.post(f"{base}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]},
                                 headers=admin.headers)).json()
    team = (await client.post(f"{base}/teams", json={"name": "Vendas"}, headers=admin.headers)).json()
    async with runtime.db.session(write=False) as session:
        row = await session.scalar(select(Conversation).where(
            Conversation.account_id == admin.account.id, Conversation.display_id == created["id"]))
        assert row is not None
    return Setup(admin, agent, base, row.id, created["id"], team["id"])


class Session:
    """One transaction on the conversation, as a request or job has it."""

    def __init__(self, runtime: Runtime, setup: Setup) -> None:
        self.runtime, self.setup = runtime, setup

    async def __aenter__(self) -> tuple[object, Conversation, Inbox]:
        self._context = self.runtime.db.session()
        session = await self._context.__aenter__()
        conversation = await session.get(Conversation, self.setup.conversation_id)
        assert conversation is not None
        inbox = await session.get(Inbox, conversation.inbox_id)
        assert inbox is not None
        return session, conversation, inbox

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)


async def _lines(runtime: Runtime, setup: Setup) -> list[str]:
    async with runtime.db.session(write=False) as session:
        found = await session.scalars(
            select(Message).where(Message.conversation_id == setup.conversation_id,
                                  Message.message_type == MessageType.activity).order_by(Message.id)
        )
        return [message.content or "" for message in found]


async def test_status_lines_name_who_changed_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime, "en")
    admin = service.Actor(user_id=s.admin.user.id)
    name = s.admin.user.name
    bot_id, _ = await make_agent_bot(runtime, s.admin.account, name="Helper")
    async with Session(runtime, s) as (session, conversation, inbox):
        await service.change_status(session, conversation, ConversationStatus.resolved, actor=admin, inbox=inbox)
        await service.change_status(session, conversation, ConversationStatus.open, actor=admin, inbox=inbox)
        await service.change_status(session, conversation, ConversationStatus.snoozed, actor=admin, inbox=inbox,
                                    snoozed_until=utcnow() + timedelta(hours=1))
        await service.change_status(session, conversation, ConversationStatus.pending, actor=admin, inbox=inbox)
        await service.change_status(session, conversation, ConversationStatus.open,
                                    actor=service.Actor(agent_bot_id=bot_id), inbox=inbox)
        await service.change_status(session, conversation, ConversationStatus.resolved, actor=service.AUTOMATION,
                                    inbox=inbox)
        await service.change_status(session, conversation, ConversationStatus.open, actor=service.SYSTEM, inbox=inbox)
        await service.change_status(session, conversation, ConversationStatus.resolved, actor=service.SYSTEM,
                                    inbox=inbox)
        # Nothing changed, nothing written.
        assert not await service.change_status(session, conversation, ConversationStatus.resolved, actor=admin,
                                               inbox=inbox)
    assert await _lines(runtime, s) == [
        f"Conversation was marked resolved by {name}",
        f"Conversation was reopened by {name}",
        f"{name} self-assigned this conversation",  # a human who opens an unassigned conversation takes it
        f"Conversation was snoozed by {name}",
        f"Conversation was marked as pending by {name}",
        "Conversation was marked open by Helper",
        "Conversation was marked resolved by Automation System",
        "The system reopened the conversation: the customer wrote again",
        "Conversation was resolved by the system",
    ]


async def test_a_handoff_by_the_system_leaves_the_line_to_the_handoff(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime, "en")
    async with Session(runtime, s) as (session, conversation, inbox):
        conversation.status = ConversationStatus.pending
        await service.change_status(session, conversation, ConversationStatus.open, actor=service.SYSTEM, inbox=inbox)
    assert await _lines(runtime, s) == []


async def test_assignment_team_label_and_priority_lines(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime, "en")
    admin = service.Actor(user_id=s.admin.user.id)
    name, agent = s.admin.user.name, s.agent.user.name
    async with Session(runtime, s) as (session, conversation, inbox):
        await service.assign_agent(session, conversation, s.agent.user.id, inbox=inbox, actor=admin)
        await service.assign_agent(session, conversation, s.agent.user.id, inbox=inbox, actor=admin)  # no change
        await service.assign_agent(session, conversation, None, inbox=inbox, actor=admin)
        await service.assign_agent(session, conversation, s.agent.user.id, inbox=inbox, actor=service.SYSTEM)
        await service.assign_team(session, conversation, s.team_id, actor=admin)
        await service.assign_team(session, conversation, None, actor=service.AUTOMATION)
        await service.replace_labels(session, conversation, ["vip", "lead"], actor=admin)
        await service.change_labels(session, conversation, add=["Hot"], remove=["vip"], actor=admin)
        await service.set_priority(session, conversation, Priority.high, actor=admin)
        await service.set_priority(session, conversation, Priority.urgent, actor=admin)
        await service.set_priority(session, conversation, None, actor=admin)
    assert await _lines(runtime, s) == [
        f"Assigned to {agent} by {name}",
        f"Conversation unassigned by {name}",
        f"Assigned to {agent} by System",
        f"Assigned to vendas team by {name}",
        f"Conversation unassigned by {name}",  # the agent is not in vendas
        "Unassigned from vendas by Automation System",
        f"{name} added lead, vip",
        f"{name} added hot",
        f"{name} removed vip",
        f"{name} set the priority to high",
        f"{name} changed the priority from high to urgent",
        f"{name} removed the priority",
    ]


async def test_lines_are_written_in_the_accounts_language(client: httpx.AsyncClient, runtime: Runtime) -> None:
    for locale, expected in [
        ("pt-BR", ["Atribuída à equipe vendas por {name}", "{name} definiu a prioridade como alta",
                   "Conversa marcada como resolvida por {name}", "Conversa resolvida pelo sistema"]),
        ("es", ["Asignada al equipo vendas por {name}", "{name} estableció la prioridad en alta",
                "Conversación marcada como resuelta por {name}", "Conversación resuelta por el sistema"]),
    ]:
        s = await _setup(client, runtime, locale)
        admin = service.Actor(user_id=s.admin.user.id)
        async with Session(runtime, s) as (session, conversation, inbox):
            await service.assign_team(session, conversation, s.team_id, actor=admin)
            await service.set_priority(session, conversation, Priority.high, actor=admin)
            await service.change_status(session, conversation, ConversationStatus.resolved, actor=admin, inbox=inbox)
            await service.change_status(session, conversation, ConversationStatus.open, actor=service.SYSTEM, inbox=inbox)
            await service.change_status(session, conversation, ConversationStatus.resolved, actor=service.SYSTEM,
                                        inbox=inbox)
        lines = await _lines(runtime, s)
        assert [lines[0], lines[1], lines[2], lines[4]] == [line.format(name=s.admin.user.name) for line in expected]


def test_every_line_has_its_translations() -> None:
    translated = [locale for locale in SUPPORTED_LOCALES if locale != "en"]
    for msgid, texts in activity._TEXTS.items():
        assert sorted(texts) == sorted(translated), msgid
        for text in texts.values():
            assert text.count("{") == msgid.count("{"), msgid


async def test_activity_lines_reach_agents_only_and_leave_the_conversation_as_it_was(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime, "en")
    async with runtime.db.session() as session:
        conversation = await session.get(Conversation, s.conversation_id)
        assert conversation is not None
        before = conversation.last_activity_at
        jobs_before = {job.kind for job in await session.scalars(select(Job))}
    resolved = await client.post(f"{s.url}/toggle_status", json={"status": "resolved"}, headers=s.admin.headers)
    assert resolved.status_code == 200
    async with runtime.db.session(write=False) as session:
        conversation = await session.get(Conversation, s.conversation_id)
        assert conversation is not None
        assert conversation.last_activity_at == before
        line = await session.scalar(select(Message).where(Message.conversation_id == s.conversation_id,
                                                          Message.message_type == MessageType.activity))
        assert line is not None and line.private is False and line.status.value == "sent"
        new_jobs = {job.kind for job in await session.scalars(select(Job))} - jobs_before
        assert "channels.deliver" not in new_jobs and "automation.evaluate" not in new_jobs
    shown = (await client.get(f"{s.url}/messages", headers=s.admin.headers)).json()["payload"]
    assert [m["content"] for m in shown if m["message_type"] == 2] == [
        f"Conversation was marked resolved by {s.admin.user.name}"
    ]
    unread = (await client.get(s.url, headers=s.admin.headers)).json()
    assert unread["unread_count"] == 0
    assert unread["last_non_activity_message"] is None


async def test_assigning_through_the_chatwoot_api_writes_the_line_in_portuguese(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    s = await _setup(client, runtime, "pt-BR")
    assigned = await client.post(f"{s.url}/assignments", json={"assignee_id": s.agent.user.id}, headers=s.admin.headers)
    assert assigned.status_code == 200, assigned.text
    labels = await client.post(f"{s.url}/labels", json={"labels": ["vip"]}, headers=s.admin.headers)
    assert labels.status_code == 200
    messages = (await client.get(f"{s.url}/messages", headers=s.admin.headers)).json()["payload"]
    assert [m["content"] for m in messages if m["message_type"] == 2] == [
        f"Atribuída a {s.agent.user.name} por {s.admin.user.name}",
        f"{s.admin.user.name} adicionou vip",
    ]


async def test_mute_and_unmute_lines_name_who_did_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime, "es")
    for action in ("mute", "mute", "unmute"):  # muting a muted conversation changes nothing, writes nothing
        response = await client.post(f"{s.url}/{action}", headers=s.agent.headers)
        assert response.status_code == 200, response.text
    name = s.agent.user.name
    assert await _lines(runtime, s) == [f"{name} silenció la conversación", f"{name} reactivó el sonido de la conversación"]


async def test_a_conversation_created_assigned_says_who_assigned_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    s = await _setup(client, runtime, "en")
    current = (await client.get(s.url, headers=s.admin.headers)).json()
    created = await client.post(f"{s.account_url}/conversations", headers=s.admin.headers, json={
        "inbox_id": current["inbox_id"], "contact_id": current["meta"]["sender"]["id"],
        "assignee_id": s.agent.user.id, "team_id": s.team_id,
    })
    assert created.status_code == 200, created.text
    messages = (await client.get(f"{s.account_url}/conversations/{created.json()['id']}/messages",
                                 headers=s.admin.headers)).json()["payload"]
    assert [m["content"] for m in messages if m["message_type"] == 2] == [
        f"Assigned to {s.agent.user.name} by {s.admin.user.name}",
        f"Assigned to vendas team by {s.admin.user.name}",
    ]
