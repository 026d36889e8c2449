"""Tenant isolation, proven for every account-scoped endpoint.

Account B owns one of every resource. An administrator of account A calls every route under
/api/v1/accounts/{A}/ with B's ids, in the path and in bodies, and must get 404 every time: never
another status, never B's data. A new endpoint with an id this file does not know fails the test
until its resource is added to `_foreign_ids`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from nexa.conversations.repository import ConversationRepository
from nexa.notifications.models import Notification, NotificationType
from nexa.runtime import Runtime
from nexa.webhooks.models import TargetKind, WebhookDelivery, WebhookEvent
from tests.factories import Member, make_member

ACCOUNT_PREFIX = "/api/v1/accounts/{account_id}"

# Bodies valid enough that only the foreign ids can be the reason for refusal; "{name}" strings are
# replaced by the other account's ids.
_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/contacts/{contact_id}/contact_inboxes"): {"inbox_id": "{inbox_id}"},
    ("PATCH", "/inboxes/{inbox_id}"): {"name": "x"},
    ("PUT", "/contacts/{contact_id}"): {"name": "x"},
    ("POST", "/contacts/{contact_id}/labels"): {"labels": ["x"]},
    ("PATCH", "/conversations/{conversation_id}"): {"priority": "high"},
    ("POST", "/conversations/{conversation_id}/toggle_status"): {"status": "resolved"},
    ("POST", "/conversations/{conversation_id}/toggle_priority"): {"priority": "high"},
    ("POST", "/conversations/{conversation_id}/toggle_typing_status"): {"typing_status": "on"},
    ("POST", "/conversations/{conversation_id}/assignments"): {"assignee_id": None},
    ("POST", "/conversations/{conversation_id}/custom_attributes"): {"custom_attributes": {"a": 1}},
    ("POST", "/conversations/{conversation_id}/labels"): {"labels": ["x"]},
    ("POST", "/conversations/{conversation_id}/messages"): {"content": "hello"},
    ("PATCH", "/labels/{label_id}"): {"description": "x"},
    ("PATCH", "/teams/{team_id}"): {"description": "x"},
    ("POST", "/teams/{team_id}/team_members"): {"user_ids": ["{user_id}"]},
    ("PATCH", "/teams/{team_id}/team_members"): {"user_ids": ["{user_id}"]},
    ("DELETE", "/teams/{team_id}/team_members"): {"user_ids": ["{user_id}"]},
    ("PATCH", "/agent_bots/{bot_id}"): {"name": "x"},
    ("PATCH", "/conversations/{conversation_id}/messages/{message_id}"): {"status": "delivered"},
    ("POST", "/inboxes/{inbox_id}/set_agent_bot"): {"agent_bot": None},
    ("PATCH", "/webhooks/{webhook_id}"): {"name": "x"},
    ("PATCH", "/catalog/items/{item_id}"): {"name": "x"},
    ("PATCH", "/bot/rules/{rule_id}"): {"name": "x"},
    ("PATCH", "/canned_responses/{canned_response_id}"): {"content": "x"},
    ("PATCH", "/agents/{user_id}"): {"name": "x"},
    ("POST", "/contacts/{contact_id}/notes"): {"content": "x"},
    ("PATCH", "/contacts/{contact_id}/notes/{note_id}"): {"content": "x"},
    ("POST", "/contacts/{contact_id}/destroy_custom_attributes"): {"custom_attributes": ["x"]},
    ("PATCH", "/automation_rules/{automation_rule_id}"): {"name": "x"},
    ("POST", "/conversations/{conversation_id}/participants"): {"user_ids": ["{user_id}"]},
    ("PATCH", "/conversations/{conversation_id}/participants"): {"user_ids": ["{user_id}"]},
    ("DELETE", "/conversations/{conversation_id}/participants"): {"user_ids": ["{user_id}"]},
}


@dataclass
class Tenant:
    member: Member
    ids: dict[str, int]

    @property
    def url(self) -> str:
        return f"/api/v1/accounts/{self.member.account.id}"


async def _populate(client: httpx.AsyncClient, runtime: Runtime, *, padding: int = 0) -> Tenant:
    member = await make_member(runtime)
    base = f"/api/v1/accounts/{member.account.id}"
    headers = member.headers

    async def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(base + path, json=body, headers=headers)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    inbox = await create("/inboxes", {"name": "API", "channel_type": "api"})
    contact = (await create("/contacts", {"name": "Ana", "inbox_id": inbox["id"]}))["payload"]["contact"]
    # Display ids are per account: the second tenant's conversation gets a number the first never had,
    # so a lookup that forgot the account would find it.
    for _ in range(padding):
        await create("/conversations", {"inbox_id": inbox["id"], "contact_id": contact["id"]})
    conversation = await create("/conversations", {"inbox_id": inbox["id"], "contact_id": contact["id"]})
    message = await create(f"/conversations/{conversation['id']}/messages", {"content": "secret of " + base})
    with_file = await client.post(
        f"{base}/conversations/{conversation['id']}/messages", data={"content": "file"},
        files={"attachments[]": ("secret.pdf", b"%PDF-1.4 " + base.encode(), "application/pdf")}, headers=headers,
    )
    assert with_file.status_code == 200, with_file.text
    label = await create("/labels", {"title": f"vip{member.account.id}"})
    team = await create("/teams", {"name": f"Sales {member.account.id}"})
    canned = await create("/canned_responses", {"short_code": "hi", "content": "Hello!"})
    note = await create(f"/contacts/{contact['id']}/notes", {"content": "secret of " + base})
    rule = await create("/automation_rules", {
        "name": "secret of " + base, "event_name": "conversation_created",
        "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}],
        "actions": [{"action_name": "add_label", "action_params": ["x"]}],
    })
    agent_bot = await create("/agent_bots", {"name": "secret of " + base, "outgoing_url": "https://bot.example.com"})
    webhook = (await create("/webhooks", {"url": "https://hooks.example.com/a", "subscriptions": ["message_created"]}))
    faq = await create("/knowledge/faqs", {"title": "secret of " + base,
                                           "pairs": [{"question": "Pix?", "answer": "Sim"}]})
    item = await create("/catalog/items", {"name": "secret of " + base, "price": "10.00", "currency": "BRL"})
    bot_rule = await create("/bot/rules", {"name": "secret", "kind": "keyword", "keywords": ["x"], "reply": "y"})
    access_token = await create("/access_tokens", {"name": "secret of " + base})
    ids = {
        "inbox_id": inbox["id"],
        "contact_id": contact["id"],
        "conversation_id": conversation["id"],
        "message_id": message["id"],
        "label_id": label["id"],
        "team_id": team["id"],
        "canned_response_id": canned["id"],
        "attachment_id": with_file.json()["attachments"][0]["id"],
        "user_id": member.user.id,
        "note_id": note["id"],
        "automation_rule_id": rule["payload"]["id"],
        "bot_id": agent_bot["id"],
        "webhook_id": webhook["payload"]["webhook"]["id"],
        "delivery_id": await _delivery(runtime, member.account.id, webhook["payload"]["webhook"]["id"]),
        "document_id": faq["id"],
        "item_id": item["id"],
        "rule_id": bot_rule["id"],
        "access_token_id": access_token["id"],
        "notification_id": await _notification(runtime, member, conversation["id"]),
    }
    return Tenant(member=member, ids=ids)


async def _delivery(runtime: Runtime, account_id: int, webhook_id: int) -> int:
    """A delivery in the webhook's log (written directly: producing one needs a worker run)."""
    async with runtime.db.session() as session:
        event = WebhookEvent(account_id=account_id, name="message_created", body="{}")
        session.add(event)
        await session.flush()
        delivery = WebhookDelivery(
            account_id=account_id, event_id=event.id, target_kind=TargetKind.webhook, target_id=webhook_id,
            url="https://hooks.example.com/a",
        )
        session.add(delivery)
        await session.flush()
        return delivery.id


async def _notification(runtime: Runtime, member: Member, display_id: int) -> int:
    """A notification of the member about the conversation (written directly: mentions exclude their author)."""
    async with runtime.db.session() as session:
        conversation = await ConversationRepository(session, member.account.id).get_by_display_id_or_404(display_id)
        notification = Notification(
            account_id=member.account.id, user_id=member.user.id, conversation_id=conversation.id,
            notification_type=NotificationType.conversation_assignment,
        )
        session.add(notification)
        await session.flush()
        return notification.id


def _account_routes(app: FastAPI) -> list[tuple[str, str]]:
    schema = app.openapi()
    return [
        (method.upper(), path[len(ACCOUNT_PREFIX):])
        for path, operations in schema["paths"].items()
        if path.startswith(ACCOUNT_PREFIX + "/")
        for method in operations
    ]


def _with_ids(body: Any, ids: dict[str, int]) -> Any:
    if isinstance(body, dict):
        return {key: _with_ids(value, ids) for key, value in body.items()}
    if isinstance(body, list):
        return [_with_ids(value, ids) for value in body]
    if isinstance(body, str) and body.startswith("{") and body[1:-1] in ids:
        return ids[body[1:-1]]
    return body


def _assert_not_found(response: httpx.Response, what: str, secret_marker: str) -> None:
    assert response.status_code == 404, f"{what} answered {response.status_code}: {response.text[:300]}"
    assert response.json() == {"error": "Resource could not be found"}, what
    assert secret_marker not in response.text, what


async def test_every_account_endpoint_answers_404_to_another_accounts_ids(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mine = await _populate(client, runtime)
    theirs = await _populate(client, runtime, padding=2)

    checked = 0
    for method, route in _account_routes(app):
        params = re.findall(r"{(\w+)}", route)
        if not params:
            continue
        unknown = [p for p in params if p not in theirs.ids]
        assert not unknown, f"{method} {route}: add a foreign {unknown} to _populate"
        # Every id in the path is the other account's, so whichever is checked first must refuse.
        path = route.format(**theirs.ids)
        body = _with_ids(_BODIES.get((method, route)), theirs.ids)
        response = await client.request(
            method, mine.url + path, headers=mine.member.headers, json=body if method != "GET" else None
        )
        _assert_not_found(response, f"{method} {route}", theirs.url)
        checked += 1
    assert checked >= 25, "the matrix lost its routes"


async def test_foreign_ids_inside_request_bodies_are_not_found(client: httpx.AsyncClient, runtime: Runtime) -> None:
    mine = await _populate(client, runtime)
    theirs = await _populate(client, runtime, padding=2)
    headers = mine.member.headers
    my_conversation = f"{mine.url}/conversations/{mine.ids['conversation_id']}"
    cases = [
        ("POST", f"{mine.url}/contacts", {"name": "Bia", "inbox_id": theirs.ids["inbox_id"]}),
        ("POST", f"{mine.url}/conversations",
         {"inbox_id": theirs.ids["inbox_id"], "contact_id": mine.ids["contact_id"]}),
        ("POST", f"{mine.url}/conversations",
         {"inbox_id": mine.ids["inbox_id"], "contact_id": theirs.ids["contact_id"]}),
        ("POST", f"{mine.url}/contacts/{mine.ids['contact_id']}/contact_inboxes",
         {"inbox_id": theirs.ids["inbox_id"]}),
        ("POST", f"{mine.url}/inbox_members", {"inbox_id": theirs.ids["inbox_id"], "user_ids": [mine.ids["user_id"]]}),
        ("POST", f"{my_conversation}/assignments", {"assignee_id": theirs.ids["user_id"]}),
        ("POST", f"{my_conversation}/assignments", {"team_id": theirs.ids["team_id"]}),
        ("POST", f"{mine.url}/teams/{mine.ids['team_id']}/team_members", {"user_ids": [theirs.ids["user_id"]]}),
        ("POST", f"{my_conversation}/participants", {"user_ids": [theirs.ids["user_id"]]}),
        ("POST", f"{mine.url}/bulk_actions",
         {"type": "Conversation", "ids": [theirs.ids["conversation_id"]], "fields": {"status": "resolved"}}),
        ("POST", f"{mine.url}/bulk_actions",
         {"type": "Conversation", "ids": [mine.ids["conversation_id"]], "fields": {"assignee_id": theirs.ids["user_id"]}}),
        ("POST", f"{mine.url}/bulk_actions",
         {"type": "Conversation", "ids": [mine.ids["conversation_id"]], "fields": {"team_id": theirs.ids["team_id"]}}),
        ("POST", f"{mine.url}/actions/contact_merge",
         {"base_contact_id": mine.ids["contact_id"], "mergee_contact_id": theirs.ids["contact_id"]}),
        ("POST", f"{mine.url}/actions/contact_merge",
         {"base_contact_id": theirs.ids["contact_id"], "mergee_contact_id": mine.ids["contact_id"]}),
        ("POST", f"{mine.url}/notifications/read_all",
         {"primary_actor_type": "Conversation", "primary_actor_id": theirs.ids["conversation_id"]}),
    ]
    for method, url, body in cases:
        response = await client.request(method, url, json=body, headers=headers)
        _assert_not_found(response, f"{method} {url} {body}", theirs.url)
