"""An Evolution inbox wired to the fake Evolution API, created and connected the way an admin does it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from nexa.runtime import Runtime
from tests.factories import CreatedInbox, Member, make_member
from tests.fixtures.fake_evolution import FakeEvolution
from nexa.devtools.servers import RunningServer, serve


@dataclass
class EvolutionInbox(CreatedInbox):
    fake: FakeEvolution


@pytest.fixture
async def evolution_server() -> AsyncIterator[tuple[FakeEvolution, RunningServer]]:
    fake = FakeEvolution()
    async with serve(fake.app) as server:
        yield fake, server


async def create_evolution_inbox(
    client: httpx.AsyncClient, member: Member, base_url: str, *, instance: str = "acme-01", **channel: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/accounts/{member.account.id}/inboxes",
        json={"name": "Vendas", "channel": {"type": "evolution", "base_url": base_url, "instance": instance,
                                            "apikey": "evo-key", **channel}},
        headers=member.headers,
    )


@pytest.fixture
async def evolution(
    client: httpx.AsyncClient, runtime: Runtime, evolution_server: tuple[FakeEvolution, RunningServer]
) -> EvolutionInbox:
    """An inbox whose webhook is set on the instance by Nexa's setup_webhook action."""
    fake, server = evolution_server
    member = await make_member(runtime)
    created = await create_evolution_inbox(client, member, server.url)
    assert created.status_code == 200, created.text
    inbox = EvolutionInbox(member, created.json(), fake)
    setup = await client.post(f"{inbox.account_url}/inboxes/{inbox.id}/setup_webhook", headers=member.headers)
    assert setup.status_code == 200, setup.text
    return inbox


async def conversations_of(client: httpx.AsyncClient, inbox: EvolutionInbox) -> list[dict[str, Any]]:
    response = await client.get(
        f"{inbox.account_url}/conversations", params={"status": "all", "assignee_type": "all", "inbox_id": inbox.id}, headers=inbox.member.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["payload"]


async def messages_of(client: httpx.AsyncClient, inbox: EvolutionInbox, conversation_id: int) -> list[dict[str, Any]]:
    response = await client.get(
        f"{inbox.account_url}/conversations/{conversation_id}/messages", headers=inbox.member.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["payload"]
