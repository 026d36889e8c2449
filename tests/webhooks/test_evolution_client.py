"""Acceptance: Evolution API's Chatwoot integration, played against a real running Nexa (uvicorn on
127.0.0.1 with its embedded worker), with a real HTTP receiver standing in for Evolution's
`/chatwoot/webhook/{instance}`. Each request is the one Evolution makes, in its order."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nexa.app import create_app
from nexa.devtools.servers import serve
from nexa.runtime import Runtime
from tests.channels.outbound.harness import eventually
from tests.factories import Member, make_member
from tests.webhooks.receiver import Receiver, Received

INSTANCE = "loja-centro"
JID = "5511988887777@s.whatsapp.net"
PHONE = "+5511988887777"
INBOX_SECRET = "evolution-inbox-secret"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16


@contextlib.asynccontextmanager
async def running_nexa(runtime: Runtime) -> AsyncIterator[str]:
    async with serve(create_app(runtime=runtime, run_worker=True), lifespan=True) as server:
        yield server.url


@pytest.fixture
async def nexa(runtime: Runtime, receiver: Receiver) -> AsyncIterator[str]:
    # Depends on the receiver so Nexa (and its worker) stops first.
    async with running_nexa(runtime) as url:
        yield url


class EvolutionClient:
    """What Evolution's ChatwootService sends, with the account's API token."""

    def __init__(self, http: httpx.AsyncClient, member: Member) -> None:
        self.http = http
        self.base = f"/api/v1/accounts/{member.account.id}"
        self.headers = {"api_access_token": member.token}

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"{self.base}{path}", headers=self.headers, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def inbox_by_name(self, name: str) -> dict[str, Any]:
        return next(inbox for inbox in (await self.call("GET", "/inboxes"))["payload"] if inbox["name"] == name)


async def test_evolution_api_flow_end_to_end(runtime: Runtime, nexa: str, receiver: Receiver) -> None:
    admin = await make_member(runtime)
    async with httpx.AsyncClient(base_url=nexa, timeout=10) as http:
        evolution = EvolutionClient(http, admin)
        # Evolution's setup creates an API inbox pointing at its own webhook.
        await evolution.call("POST", "/inboxes", json={
            "name": INSTANCE,
            "channel": {"type": "api", "webhook_url": f"{receiver.url}/chatwoot/webhook/{INSTANCE}", "webhook_secret": INBOX_SECRET},
        })

        inbox = await evolution.inbox_by_name(INSTANCE)
        created = (await evolution.call("POST", "/contacts", json={
            "inbox_id": inbox["id"], "name": "Maria", "identifier": JID, "phone_number": PHONE,
        }))["payload"]
        contact = created["contact"]
        assert contact["identifier"] == JID and created["contact_inbox"]["source_id"]

        found = await evolution.call("POST", "/contacts/filter", json={"payload": [
            {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": [PHONE], "query_operator": None},
        ]})
        assert [c["id"] for c in found["payload"]] == [contact["id"]]

        conversation = await evolution.call("POST", "/conversations", json={
            "contact_id": str(contact["id"]), "inbox_id": str(inbox["id"]), "status": "pending",
        })
        assert conversation["status"] == "pending"
        messages = f"/conversations/{conversation['id']}/messages"

        # The customer writes on WhatsApp: Evolution stores it as incoming with its WAID.
        incoming = await evolution.call("POST", messages, json={
            "content": "Oi, vocês entregam?", "message_type": "incoming", "source_id": "WAID:3EB0C767D26A1D8E0B",
        })
        assert incoming["message_type"] == 0 and incoming["source_id"] == "WAID:3EB0C767D26A1D8E0B"

        # An agent answers in Nexa (text, then a photo): Evolution receives each as message_created.
        agent = await http.post(f"{evolution.base}{messages}", json={"content": "Entregamos sim!"}, headers=evolution.headers)
        assert agent.status_code == 200, agent.text
        photo = await http.post(
            f"{evolution.base}{messages}", data={"content": "Nosso catálogo"},
            files={"attachments[]": ("catalogo.png", PNG, "image/png")}, headers=evolution.headers,
        )
        assert photo.status_code == 200, photo.text

        async def replies() -> list[Received]:
            found = [r for r in receiver.events("message_created") if r.body["message_type"] == "outgoing"]
            assert len(found) == 2, [r.body.get("content") for r in receiver.received]
            return found

        text, picture = await eventually(replies)
        for received in (text, picture):
            assert received.path == f"/chatwoot/webhook/{INSTANCE}" and received.signed_with(INBOX_SECRET)
        body = text.body
        # Every field Evolution's receiveWebhook reads.
        assert body["event"] == "message_created" and body["id"] == agent.json()["id"]
        assert body["message_type"] == "outgoing" and body["private"] is False and body["content"] == "Entregamos sim!"
        assert body["content_attributes"] == {} and body["source_id"] is None
        assert body["inbox"] == {"id": inbox["id"], "name": INSTANCE}
        assert body["sender"]["type"] == "user" and body["sender"]["name"] == admin.user.name
        chat = body["conversation"]
        assert chat["id"] == conversation["id"] and chat["status"] == "pending"
        assert chat["meta"]["sender"]["identifier"] == JID and chat["meta"]["sender"]["phone_number"] == PHONE
        # Like Chatwoot, a conversation created by contact_id on an API inbox gets its own contact inbox.
        assert chat["contact_inbox"]["source_id"] and chat["contact_inbox"]["contact_id"] == contact["id"]
        assert chat["contact_inbox"]["inbox_id"] == inbox["id"]
        last = chat["messages"][0]
        assert last["id"] == body["id"] and last["source_id"] is None
        assert last["sender"]["available_name"] == admin.user.available_name
        assert picture.body["attachments"][0]["data_url"].startswith("http")
        assert picture.body["conversation"]["messages"][0]["attachments"][0]["data_url"] == picture.body["attachments"][0]["data_url"]

        # The incoming message reached Evolution too, with its WAID: its loop guard drops it.
        echoed = [r for r in receiver.events("message_created") if r.body["message_type"] == "incoming"]
        assert echoed[0].body["source_id"] == "WAID:3EB0C767D26A1D8E0B"
        assert echoed[0].body["conversation"]["messages"][0]["source_id"] == "WAID:3EB0C767D26A1D8E0B"

        # Loop guard: a message the business sent from the phone is stored by Evolution as outgoing with its
        # WAID; the webhook carries that WAID back, so Evolution does not send it to WhatsApp a second time.
        from_phone = await evolution.call("POST", messages, json={
            "content": "Enviado pelo celular", "message_type": "outgoing", "source_id": "WAID:BAE5F1E2C3D4",
        })

        async def guarded() -> Received:
            found = [r for r in receiver.events("message_created") if r.body["id"] == from_phone["id"]]
            assert found
            return found[0]

        echo = await eventually(guarded)
        assert echo.body["source_id"] == "WAID:BAE5F1E2C3D4"
        assert echo.body["conversation"]["messages"][0]["source_id"] == "WAID:BAE5F1E2C3D4"

        # A 2xx from Evolution's webhook counts as sent.
        async def sent() -> None:
            stored = (await evolution.call("GET", messages))["payload"]
            assert {m["id"]: m["status"] for m in stored}[agent.json()["id"]] == "sent"

        await eventually(sent)
