"""Auto-assignment of conversations routed to a team: round robin over the team's online members who are
also inbox members, under the inbox's cap; the queue waits for a team member and drains when one comes
online; the team's allow_auto_assign decides, as in Chatwoot."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.auth.models import Availability
from nexa.devtools.fake_graph import FakeGraph
from nexa.realtime.presence import change_availability
from nexa.runtime import Runtime
from tests.bot.harness import Customer, settle
from tests.bot.test_bot import agent_of
from tests.channels.whatsapp.helpers import WhatsAppInbox
from tests.factories import Member


async def make_team(client: httpx.AsyncClient, inbox: WhatsAppInbox, name: str, members: list[Member], **flags: Any) -> int:
    response = await client.post(f"{inbox.account_url}/teams", json={"name": name, **flags}, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    team_id = response.json()["id"]
    response = await client.post(f"{inbox.account_url}/teams/{team_id}/team_members",
                                 json={"user_ids": [m.user.id for m in members]}, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    return team_id


async def route_to_team(client: httpx.AsyncClient, person: Customer, team_id: int) -> None:
    conversation_id = (await person.conversation())["id"]
    response = await client.post(f"{person.inbox.account_url}/conversations/{conversation_id}/assignments",
                                 json={"team_id": team_id}, headers=person.inbox.member.headers)
    assert response.status_code == 200, response.text


async def team_customer(client: httpx.AsyncClient, runtime: Runtime, fake: FakeGraph, inbox: WhatsAppInbox, n: int,
                        team_id: int | None) -> Customer:
    """A customer whose conversation is routed to the team while the bot has it, and who then asks for a human."""
    person = Customer(client, runtime, fake, inbox, number=f"55119111100{n:02d}")
    await person.says("oi")
    if team_id is not None:
        await route_to_team(client, person, team_id)
    await person.says("quero falar com um atendente")
    return person


async def assignee(person: Customer) -> int | None:
    found = (await person.conversation())["meta"]["assignee"]
    return found["id"] if found else None


async def online(runtime: Runtime, inbox: WhatsAppInbox, *agents: Member) -> None:
    for agent in agents:
        await change_availability(runtime, inbox.member.account.id, agent.user.id, Availability.online)
    await settle(runtime)


async def test_round_robin_turns_within_the_team_and_a_team_without_auto_assign_waits(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    first, second, outsider = [await agent_of(client, runtime, bot_inbox) for _ in range(3)]
    sales = await make_team(client, bot_inbox, "Sales", [first, second])
    manual = await make_team(client, bot_inbox, "Key accounts", [first, second], allow_auto_assign=False)
    await online(runtime, bot_inbox, first, second, outsider)

    people = [await team_customer(client, runtime, fake_graph, bot_inbox, n, sales) for n in range(3)]
    picks = [await assignee(person) for person in people]
    # In turn, never the outsider though they are online with nothing to do.
    assert picks == [first.user.id, second.user.id, first.user.id]

    kept = await team_customer(client, runtime, fake_graph, bot_inbox, 11, manual)
    conversation = await kept.conversation()
    assert conversation["status"] == "open" and conversation["meta"]["assignee"] is None


async def test_the_team_queue_waits_under_the_cap_and_drains_as_team_members_come_online(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    first, second, outsider = [await agent_of(client, runtime, bot_inbox) for _ in range(3)]
    response = await client.patch(f"{bot_inbox.account_url}/inboxes/{bot_inbox.id}", json={"max_assignment_limit": 1},
                                  headers=bot_inbox.member.headers)
    assert response.status_code == 200, response.text
    sales = await make_team(client, bot_inbox, "Sales", [first, second])
    await online(runtime, bot_inbox, outsider)

    waiting = await team_customer(client, runtime, fake_graph, bot_inbox, 0, sales)
    assert await assignee(waiting) is None  # only the outsider is online: the team's customer waits
    await online(runtime, bot_inbox, first)
    assert await assignee(waiting) == first.user.id

    second_in_line = await team_customer(client, runtime, fake_graph, bot_inbox, 1, sales)
    assert await assignee(second_in_line) is None  # the only team member online is at the cap
    assert "fila" in (await second_in_line.messages())[-3]["content"]  # told it waits in line
    await online(runtime, bot_inbox, second)
    assert await assignee(second_in_line) == second.user.id


async def test_routing_a_waiting_conversation_to_a_team_assigns_it_to_a_team_member(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox, worker: Any
) -> None:
    member = await agent_of(client, runtime, bot_inbox)
    response = await client.patch(f"{bot_inbox.account_url}/inboxes/{bot_inbox.id}", json={"enable_auto_assignment": False},
                                  headers=bot_inbox.member.headers)
    assert response.status_code == 200, response.text
    support = await make_team(client, bot_inbox, "Support", [member])
    await online(runtime, bot_inbox, member)

    person = await team_customer(client, runtime, fake_graph, bot_inbox, 0, None)
    assert await assignee(person) is None  # the inbox does not auto-assign
    await route_to_team(client, person, support)  # as an agent or an automation's assign_team would
    await settle(runtime)
    assert await assignee(person) == member.user.id  # the team does
