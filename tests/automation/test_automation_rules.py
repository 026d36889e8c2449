"""Automation rules through the API: CRUD and clone, validation, and rules that really run in the worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nexa.devtools.servers import RunningServer, serve
from nexa.jobs.models import Job
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from tests.channels.outbound.harness import eventually
from tests.factories import make_member


class Receiver:
    """A real HTTP endpoint that records what send_webhook_event posts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def hook(self, request: Request) -> JSONResponse:
        self.bodies.append(await request.json())
        return JSONResponse({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, RunningServer]]:
    found = Receiver()
    async with serve(Starlette(routes=[Route("/hook", found.hook, methods=["POST"])])) as server:
        yield found, server


def _condition(key: str, op: str, values: list[Any], qo: str | None = None) -> dict[str, Any]:
    return {"attribute_key": key, "filter_operator": op, "values": values, "query_operator": qo}


async def test_crud_clone_and_validation(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/automation_rules"
    rule = {
        "name": "VIP", "description": "tag big orders", "event_name": "conversation_created",
        "conditions": [_condition("order_value", "is_greater_than", [1000])],
        "actions": [{"action_name": "add_label", "action_params": ["vip"]}],
    }
    created = await client.post(base, json={"automation_rule": rule}, headers=admin.headers)
    assert created.status_code == 200, created.text
    payload = created.json()["payload"]
    assert payload == {**payload, "name": "VIP", "event_name": "conversation_created", "active": True,
                       "account_id": admin.account.id}
    assert payload["actions"] == [{"action_name": "add_label", "action_params": ["vip"]}]
    assert isinstance(payload["created_on"], int)

    clone = (await client.post(f"{base}/{payload['id']}/clone", headers=admin.headers)).json()["payload"]
    assert clone["id"] != payload["id"] and clone["name"] == "VIP"
    updated = await client.patch(f"{base}/{clone['id']}", json={"active": False, "name": "Copy"}, headers=admin.headers)
    assert updated.json()["payload"] == {**updated.json()["payload"], "active": False, "name": "Copy"}
    assert [r["id"] for r in (await client.get(base, headers=admin.headers)).json()["payload"]] == [payload["id"], clone["id"]]
    assert (await client.delete(f"{base}/{clone['id']}", headers=admin.headers)).status_code == 200
    assert (await client.get(f"{base}/{clone['id']}", headers=admin.headers)).status_code == 404

    for broken, message in [
        ({**rule, "event_name": "contact_created"}, None),
        ({**rule, "conditions": [_condition("status", "equal_to", ["closed"])]}, "Invalid value for status: closed"),
        ({**rule, "actions": [{"action_name": "change_status", "action_params": ["archived"]}]}, None),
        ({**rule, "actions": [{"action_name": "send_webhook_event", "action_params": ["ftp://x"]}]},
         "send_webhook_event takes an http(s) URL"),
        ({**rule, "actions": []}, None),
    ]:
        response = await client.post(base, json=broken, headers=admin.headers)
        assert response.status_code == 422, (broken, response.text)
        if message:
            assert response.json() == {"error": message}


async def test_rules_run_on_events_and_do_not_loop(
    client: httpx.AsyncClient, runtime: Runtime, worker: Worker, receiver: tuple[Receiver, RunningServer]
) -> None:
    found, server = receiver
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    team = (await client.post(f"{account}/teams", json={"name": "Sales"}, headers=admin.headers)).json()
    rules = [
        {"name": "big orders", "event_name": "conversation_created",
         "conditions": [_condition("order_value", "is_greater_than", [1000])],
         "actions": [{"action_name": "add_label", "action_params": ["vip"]},
                     {"action_name": "change_priority", "action_params": ["urgent"]},
                     {"action_name": "assign_team", "action_params": [team["id"]]},
                     {"action_name": "add_private_note", "action_params": ["Big order: call first"]},
                     {"action_name": "send_webhook_event", "action_params": [f"{server.url}/hook"]}]},
        {"name": "price question", "event_name": "message_created",
         "conditions": [_condition("message_type", "equal_to", ["incoming"], "AND"), _condition("content", "contains", ["price"])],
         "actions": [{"action_name": "send_message", "action_params": ["Our prices are on the site"]}]},
        # Each run changes the conversation, which is an update, which runs it again: only the depth stops it.
        {"name": "ping-pong", "event_name": "conversation_updated",
         "conditions": [_condition("status", "is_present", [])],
         "actions": [{"action_name": "change_status", "action_params": ["pending"]},
                     {"action_name": "change_status", "action_params": ["open"]}]},
    ]
    for rule in rules:
        response = await client.post(f"{account}/automation_rules", json=rule, headers=admin.headers)
        assert response.status_code == 200, response.text

    contact = (await client.post(f"{account}/contacts", json={"name": "Ana"}, headers=admin.headers)).json()["payload"]["contact"]
    conversation = (await client.post(
        f"{account}/conversations",
        json={"inbox_id": inbox["id"], "contact_id": contact["id"], "custom_attributes": {"order_value": 5000}},
        headers=admin.headers,
    )).json()
    url = f"{account}/conversations/{conversation['id']}"

    async def tagged() -> dict[str, Any]:
        shown = (await client.get(url, headers=admin.headers)).json()
        assert shown["labels"] == ["vip"] and shown["priority"] == "urgent", shown
        assert shown["meta"]["team"]["id"] == team["id"]
        assert found.bodies and found.bodies[0]["id"] == conversation["id"]
        return shown

    await eventually(tagged)
    assert found.bodies[0]["event"] == "automation_event"

    await client.post(f"{url}/messages", json={"content": "What is the price?", "message_type": "incoming"}, headers=admin.headers)

    async def answered() -> list[dict[str, Any]]:
        listed = (await client.get(f"{url}/messages", headers=admin.headers)).json()["payload"]
        contents = [m["content"] for m in listed]
        assert "Our prices are on the site" in contents and "Big order: call first" in contents, contents
        return listed

    listed = await eventually(answered)
    note = next(m for m in listed if m["content"] == "Big order: call first")
    assert note["private"] is True

    async def settled() -> None:
        async with runtime.db.session(write=False) as session:
            live = await session.scalar(
                select(func.count()).select_from(Job).where(
                    Job.kind == "automation.evaluate", Job.state.in_(["available", "executing", "scheduled", "retryable"])
                )
            )
            assert live == 0

    await eventually(settled, timeout=15)
    async with runtime.db.session(write=False) as session:
        evaluations = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "automation.evaluate"))
    # Bounded by the depth limit, not endless.
    assert evaluations is not None and evaluations < 60
