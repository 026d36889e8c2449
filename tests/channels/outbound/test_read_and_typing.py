"""Opening a conversation marks the customer's message read on their phone; typing shows while replying."""

from __future__ import annotations

import httpx

from tests.channels.outbound.harness import Chat, eventually
from nexa.devtools.fake_graph import FakeGraph, ReadMark


async def _incoming_wamid(client: httpx.AsyncClient, chat: Chat) -> str:
    payload = (await client.get(f"{chat.url}/messages", headers=chat.headers)).json()["payload"]
    return [m for m in payload if m["message_type"] == 0][-1]["source_id"]


async def test_opening_the_conversation_marks_the_latest_message_read_once(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    wamid = await _incoming_wamid(client, chat)

    opened = await client.post(f"{chat.url}/update_last_seen", headers=chat.headers)
    assert opened.status_code == 200, opened.text
    assert opened.json()["agent_last_seen_at"] is not None

    async def marked() -> None:
        assert fake_graph.read_marks == [ReadMark(wamid, False)]

    await eventually(marked)
    await client.post(f"{chat.url}/update_last_seen", headers=chat.headers)
    unread = (await client.get(chat.url, headers=chat.headers)).json()["unread_count"]
    assert unread == 0
    await eventually(marked)


async def test_typing_shows_the_customer_a_typing_indicator(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    wamid = await _incoming_wamid(client, chat)

    response = await client.post(f"{chat.url}/toggle_typing_status", json={"typing_status": "on"}, headers=chat.headers)
    assert response.status_code == 200

    async def typing_shown() -> None:
        assert fake_graph.read_marks == [ReadMark(wamid, True)]

    await eventually(typing_shown)


async def test_typing_a_private_note_tells_the_customer_nothing(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat
) -> None:
    response = await client.post(
        f"{chat.url}/toggle_typing_status", json={"typing_status": "on", "is_private": True}, headers=chat.headers
    )
    assert response.status_code == 200
    bad = await client.post(f"{chat.url}/toggle_typing_status", json={"typing_status": "maybe"}, headers=chat.headers)
    assert bad.status_code == 422
