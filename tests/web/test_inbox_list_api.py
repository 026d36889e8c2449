"""What the inbox list asks the API for beyond Chatwoot's filters: search by contact or text, priority."""

from __future__ import annotations

import httpx

from nexa.runtime import Runtime
from tests.factories import make_member


async def test_list_searches_contacts_and_messages_and_filters_priority(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()

    async def conversation(name: str, phone: str, text: str) -> int:
        contact = (await client.post(f"{account}/contacts", json={
            "name": name, "phone_number": phone, "inbox_id": inbox["id"]}, headers=admin.headers)).json()["payload"]["contact"]
        created = (await client.post(f"{account}/conversations", json={
            "inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=admin.headers)).json()
        await client.post(f"{account}/conversations/{created['id']}/messages",
                          json={"content": text, "message_type": "incoming"}, headers=admin.headers)
        return created["id"]

    ana = await conversation("Ana Souza", "+5511999990001", "Quero um orçamento de 100%")
    bruno = await conversation("Bruno", "+5521988880002", "Vocês entregam em Campinas?")
    await client.post(f"{account}/conversations/{bruno}/toggle_priority", json={"priority": "urgent"}, headers=admin.headers)

    async def ids(**params: str) -> list[int]:
        response = await client.get(f"{account}/conversations", params={"assignee_type": "all", **params}, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]["payload"]]

    assert await ids(q="souza") == [ana]  # contact name, any case
    assert await ids(q="campinas") == [bruno]  # message text
    assert await ids(q="2198888") == [bruno]  # phone
    assert await ids(q="100%") == [ana] and await ids(q="%") == [ana]  # LIKE wildcards are literal
    assert await ids(q="nobody") == []
    assert await ids(priority="urgent") == [bruno]
    assert sorted(await ids()) == sorted([ana, bruno])
    bad = await client.get(f"{account}/conversations", params={"priority": "whenever"}, headers=admin.headers)
    assert bad.status_code == 422 and "priority" in bad.json()["error"]
    counts = (await client.get(f"{account}/conversations", params={"q": "souza"}, headers=admin.headers)).json()
    assert counts["data"]["meta"]["all_count"] == 1
