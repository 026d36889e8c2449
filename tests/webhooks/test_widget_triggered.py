"""`webwidget_triggered`: a web widget visitor opens the chat, the widget posts the event, and the
account's webhook receives Chatwoot's payload (ContactInbox#webhook_data plus event_info)."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.runtime import Runtime
from tests.channels.outbound.harness import eventually
from tests.factories import make_member
from tests.webhooks.receiver import Receiver

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)


async def test_opening_the_widget_reaches_the_webhook_with_the_visitor_inbox_conversation_and_event_info(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "Site", "channel_type": "web_widget"},
                               headers=admin.headers)).json()
    response = await client.post(f"{account}/webhooks", json={"url": f"{receiver.url}/n8n", "subscriptions": ["webwidget_triggered"]},
                                 headers=admin.headers)
    assert response.status_code == 200, response.text
    public = f"/public/api/v1/inboxes/{inbox['inbox_identifier']}"
    visitor = (await client.post(f"{public}/contacts", json={"name": "Bia", "email": "bia@example.com"})).json()
    me = f"{public}/contacts/{visitor['source_id']}"
    conversation = (await client.post(f"{me}/conversations")).json()

    event_info = {"referer": "https://loja.example.com/precos", "initiated_at": {"timestamp": "Sun Nov 22 2026 10:00:00 GMT-0300"},
                  "widget_language": "pt-BR", "pre_chat_form_data": {"name": "Bia", "email": "bia@example.com"}}
    sent = await client.post(f"{me}/events", json={"name": "webwidget.triggered", "event_info": event_info},
                             headers={"User-Agent": CHROME_ON_WINDOWS, "Accept-Language": "pt-BR,pt;q=0.9,en;q=0.8"})
    assert sent.status_code == 204, sent.text

    async def arrived() -> Any:
        assert len(receiver.events("webwidget_triggered")) == 1
        return receiver.events("webwidget_triggered")[0]

    body = (await eventually(arrived)).body
    assert body["event"] == "webwidget_triggered" and body["source_id"] == visitor["source_id"]
    assert body["contact"]["id"] == visitor["id"] and body["contact"]["email"] == "bia@example.com"
    assert body["inbox"] == {"id": inbox["id"], "name": "Site"}
    assert body["account"] == {"id": admin.account.id, "name": admin.account.name}
    assert body["current_conversation"]["id"] == conversation["id"]
    assert body["current_conversation"]["contact_inbox"]["source_id"] == visitor["source_id"]
    info = body["event_info"]
    assert {key: info[key] for key in event_info} == event_info
    assert info["browser_language"] == "pt-BR"
    assert info["browser"] == {"browser_name": "Chrome", "browser_version": "136.0.0.0", "device_name": "Unknown",
                               "platform_name": "Windows", "platform_version": "10.0"}


async def test_widget_events_refuse_other_names_and_unknown_visitors(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    inbox = (await client.post(f"/api/v1/accounts/{admin.account.id}/inboxes", json={"name": "Site", "channel_type": "web_widget"},
                               headers=admin.headers)).json()
    public = f"/public/api/v1/inboxes/{inbox['inbox_identifier']}"
    visitor = (await client.post(f"{public}/contacts", json={})).json()
    wrong = await client.post(f"{public}/contacts/{visitor['source_id']}/events", json={"name": "conversation.created"})
    assert wrong.status_code == 422, wrong.text
    unknown = await client.post(f"{public}/contacts/not-a-visitor/events", json={"name": "webwidget.triggered"})
    assert unknown.status_code == 404
    # Without a visitor's conversation yet the event still goes out (current_conversation null): accepted.
    first_visit = await client.post(f"{public}/contacts/{visitor['source_id']}/events", json={"name": "webwidget.triggered"})
    assert first_visit.status_code == 204
