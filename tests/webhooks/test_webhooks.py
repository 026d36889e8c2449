"""Account webhooks and API-inbox webhook_url, through the real HTTP API, a real worker and a real receiver."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event, func, select

from nexa.auth.models import AuditEvent, Role
from nexa.jobs.models import Job
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from nexa.webhooks.jobs import _FanOut
from nexa.webhooks.models import WebhookDelivery
from nexa.webhooks.outbox import FANOUT_JOB, WEBHOOKS_QUEUE
from tests.channels.outbound.harness import eventually
from tests.factories import Member, make_member
from tests.webhooks.receiver import Received, Receiver


def _account(member: Member) -> str:
    return f"/api/v1/accounts/{member.account.id}"


async def _webhook(client: httpx.AsyncClient, admin: Member, url: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"{_account(admin)}/webhooks", json={"webhook": {"url": url, **fields}}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()["payload"]["webhook"]


async def _contact(client: httpx.AsyncClient, admin: Member, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"{_account(admin)}/contacts", json={"name": "Ana", **fields}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()["payload"]["contact"]


async def test_webhooks_crud_in_chatwoot_shapes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account = _account(admin)
    flat = await client.post(f"{account}/webhooks", json={"url": "https://n8n.example.com/a", "subscriptions": ["message_created"]}, headers=admin.headers)
    assert flat.status_code == 200, flat.text
    created = flat.json()["payload"]["webhook"]
    assert created["url"] == "https://n8n.example.com/a" and created["account_id"] == admin.account.id
    assert created["subscriptions"] == ["message_created"] and created["inbox"] is None
    assert len(created["secret"]) >= 32 and created["enabled"] is True

    wrapped = await _webhook(client, admin, "https://crm.example.com/hook", name="CRM")
    assert "contact_created" in wrapped["subscriptions"] and wrapped["name"] == "CRM"

    listed = (await client.get(f"{account}/webhooks", headers=admin.headers)).json()
    assert [w["id"] for w in listed["payload"]["webhooks"]] == [created["id"], wrapped["id"]]

    patched = await client.patch(f"{account}/webhooks/{created['id']}", json={"webhook": {"subscriptions": ["contact_created", "contact_updated"]}}, headers=admin.headers)
    assert patched.status_code == 200
    assert patched.json()["payload"]["webhook"]["subscriptions"] == ["contact_created", "contact_updated"]

    assert (await client.delete(f"{account}/webhooks/{created['id']}", headers=admin.headers)).status_code == 200
    assert len((await client.get(f"{account}/webhooks", headers=admin.headers)).json()["payload"]["webhooks"]) == 1


async def test_bad_webhooks_are_refused_with_chatwoot_422s(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account = _account(admin)
    for body, attribute in [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://example.com/x", "subscriptions": ["message_created", "everything"]}, "subscriptions"),
        ({"url": "https://example.com/x", "inbox_id": 999_999}, "inbox_id"),
    ]:
        response = await client.post(f"{account}/webhooks", json=body, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["attributes"] == [attribute]
    await _webhook(client, admin, "https://example.com/dup")
    duplicate = await client.post(f"{account}/webhooks", json={"url": "https://example.com/dup"}, headers=admin.headers)
    assert duplicate.status_code == 422 and duplicate.json()["message"] == "Url has already been taken"


async def test_agents_and_other_accounts_cannot_see_webhooks(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    stranger = await make_member(runtime)
    webhook = await _webhook(client, admin, "https://example.com/secret")
    assert (await client.get(f"{_account(admin)}/webhooks", headers=agent.headers)).status_code == 401
    assert (await client.patch(f"{_account(stranger)}/webhooks/{webhook['id']}", json={"name": "x"}, headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{_account(stranger)}/webhooks/{webhook['id']}/deliveries", headers=stranger.headers)).status_code == 404


async def test_a_contact_created_reaches_the_webhook_signed_and_logged(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    webhook = await _webhook(client, admin, f"{receiver.url}/n8n", subscriptions=["contact_created"])
    contact = await _contact(client, admin, email="ana@example.com", identifier="5511999990000@s.whatsapp.net")

    async def arrived() -> Any:
        assert receiver.events("contact_created")
        return receiver.events("contact_created")[0]

    received = await eventually(arrived)
    assert received.path == "/n8n" and received.signed_with(webhook["secret"])
    assert received.body["id"] == contact["id"] and received.body["identifier"] == "5511999990000@s.whatsapp.net"
    assert received.body["account"] == {"id": admin.account.id, "name": admin.account.name}
    assert len(received.headers["x-chatwoot-delivery"]) == 36

    async def logged() -> list[dict[str, Any]]:
        log = (await client.get(f"{_account(admin)}/webhooks/{webhook['id']}/deliveries", headers=admin.headers)).json()["payload"]
        assert log and log[0]["state"] == "succeeded", log
        return log

    log = await eventually(logged)
    assert log[0]["event"] == "contact_created" and log[0]["response_status"] == 200 and log[0]["attempts"] == 1
    assert log[0]["uuid"] == received.headers["x-chatwoot-delivery"] and log[0]["duration_ms"] is not None
    # Not subscribed: an update is not sent.
    await client.patch(f"{_account(admin)}/contacts/{contact['id']}", json={"name": "Ana Maria"}, headers=admin.headers)
    assert not receiver.events("contact_updated")


async def test_an_accounts_queued_events_are_fanned_out_together_and_each_subjects_arrive_in_order(
    client: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    await _webhook(client, admin, f"{receiver.url}/crm", subscriptions=["contact_created", "contact_updated"])
    # Queued, no worker yet: each contact created, then renamed three times, the two contacts interleaved.
    contacts = [(await _contact(client, admin, name=f"Cliente {n}"))["id"] for n in range(2)]
    for version in range(1, 4):
        for contact_id in contacts:
            renamed = await client.patch(
                f"{_account(admin)}/contacts/{contact_id}", json={"name": f"Cliente {contact_id} v{version}"},
                headers=admin.headers,
            )
            assert renamed.status_code == 200, renamed.text
    queued = len(contacts) * 4

    worker = Worker(runtime.db, runtime.settings, queues=[WEBHOOKS_QUEUE])
    await worker.start()
    try:
        async def arrived() -> list[Received]:
            assert len(receiver.received) == queued
            return list(receiver.received)  # in the order they arrived

        posts = await eventually(arrived)
    finally:
        await worker.stop(timeout=5)
        await runtime.close_http()
    async with runtime.db.session(write=False) as session:
        fanouts = (await session.execute(
            select(Job.id, Job.state, Job.attempted_by).where(Job.kind == FANOUT_JOB).order_by(Job.id)
        )).all()
        created_order = {uuid: n for n, uuid in enumerate(await session.scalars(
            select(WebhookDelivery.uuid).order_by(WebhookDelivery.id)
        ))}
    # Each contact's events reach the target in the order they were recorded (bodies are built from the rows
    # as they are at fan-out time, so the deliveries' creation order tells them apart); the two contacts'
    # lanes may interleave either way.
    for contact_id in contacts:
        arrived_in = [post for post in posts if post.body["id"] == contact_id]
        assert [post.event for post in arrived_in] == ["contact_created"] + ["contact_updated"] * 3
        order = [created_order[post.headers["x-chatwoot-delivery"]] for post in arrived_in]
        assert order == sorted(order)
    # The first event's job took the ones queued behind it into its own transaction.
    assert [state for _, state, _ in fanouts] == ["completed"] * queued
    assert [by for _, _, by in fanouts[1:]] == [f"batch of job {fanouts[0].id}"] * (queued - 1)


async def test_a_failing_endpoint_is_retried_then_disabled_and_can_be_redelivered(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    receiver.status = 500
    webhook = await _webhook(client, admin, receiver.url, subscriptions=["contact_created"])
    await _contact(client, admin)
    account = _account(admin)

    async def disabled() -> dict[str, Any]:
        found = (await client.get(f"{account}/webhooks", headers=admin.headers)).json()["payload"]["webhooks"][0]
        assert found["enabled"] is False, found
        return found

    found = await eventually(disabled)
    assert "3 failed attempts" in found["disabled_reason"]
    attempts = receiver.events("contact_created")
    assert len(attempts) == 3 and len({a.headers["x-chatwoot-delivery"] for a in attempts}) == 1
    log = (await client.get(f"{account}/webhooks/{webhook['id']}/deliveries", headers=admin.headers)).json()["payload"]
    assert log[0]["state"] == "failed" and log[0]["attempts"] == 3 and log[0]["response_status"] == 500
    async with runtime.db.session() as session:
        audit = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.disabled"))).all()
    assert [a.target_id for a in audit] == [webhook["id"]]

    # Disabled: new events are not sent.
    await _contact(client, admin, name="Bia")
    receiver.status = 200
    redelivered = await client.post(f"{account}/webhooks/{webhook['id']}/deliveries/{log[0]['id']}/redeliver", headers=admin.headers)
    assert redelivered.status_code == 200 and redelivered.json()["state"] == "pending"

    async def succeeded() -> None:
        entry = (await client.get(f"{account}/webhooks/{webhook['id']}/deliveries", headers=admin.headers)).json()["payload"][0]
        assert entry["state"] == "succeeded", entry

    await eventually(succeeded)
    assert receiver.received[-1].headers["x-chatwoot-delivery"] == attempts[0].headers["x-chatwoot-delivery"]
    assert [r.body["name"] for r in receiver.received] == ["Ana"] * 4

    enabled = await client.patch(f"{account}/webhooks/{webhook['id']}", json={"enabled": True}, headers=admin.headers)
    assert enabled.json()["payload"]["webhook"]["enabled"] is True
    await _contact(client, admin, name="Carla")
    await eventually(arrived_named(receiver, "Carla"))


def arrived_named(receiver: Receiver, name: str) -> Any:
    async def check() -> None:
        assert any(r.body.get("name") == name for r in receiver.received)

    return check


async def test_an_api_inbox_gets_its_events_and_its_replies_are_sent_or_failed(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    account = _account(admin)
    inbox = (await client.post(f"{account}/inboxes", json={"name": "Site", "channel": {"type": "api", "webhook_url": f"{receiver.url}/inbox", "webhook_secret": "inbox-secret"}}, headers=admin.headers)).json()
    contact = await _contact(client, admin, inbox_id=inbox["id"])
    conversation = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=admin.headers)).json()
    url = f"{account}/conversations/{conversation['id']}"
    reply = (await client.post(f"{url}/messages", json={"content": "Olá!"}, headers=admin.headers)).json()
    assert reply["status"] == "pending"

    async def sent() -> None:
        messages = (await client.get(f"{url}/messages", headers=admin.headers)).json()["payload"]
        assert [m["status"] for m in messages if m["id"] == reply["id"]] == ["sent"]

    await eventually(sent)
    created = [r for r in receiver.events("message_created") if r.body["id"] == reply["id"]]
    assert created and created[0].signed_with("inbox-secret") and created[0].body["message_type"] == "outgoing"
    assert receiver.events("conversation_created")  # the inbox's webhook_url gets every inbox event

    receiver.status = 503
    second = (await client.post(f"{url}/messages", json={"content": "Ainda aí?"}, headers=admin.headers)).json()

    async def failed() -> dict[str, Any]:
        messages = (await client.get(f"{url}/messages", headers=admin.headers)).json()["payload"]
        found = next(m for m in messages if m["id"] == second["id"])
        assert found["status"] == "failed", found
        return found

    found = await eventually(failed)
    assert "after 3 attempts" in found["external_error"] and "HTTP 503" in found["external_error"]


async def test_an_api_inbox_integrator_reports_message_status(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    account = _account(admin)
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    contact = await _contact(client, admin, inbox_id=inbox["id"])
    conversation = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=admin.headers)).json()
    url = f"{account}/conversations/{conversation['id']}/messages"
    reply = (await client.post(url, json={"content": "Olá!"}, headers=admin.headers)).json()

    delivered = await client.patch(f"{url}/{reply['id']}", json={"message": {"status": "delivered"}}, headers=admin.headers)
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    stale = await client.patch(f"{url}/{reply['id']}", json={"status": "sent"}, headers=admin.headers)
    assert stale.json()["status"] == "delivered"  # receipts only move forward
    other = (await client.post(url, json={"content": "Ainda aí?"}, headers=admin.headers)).json()
    failed = await client.patch(f"{url}/{other['id']}", json={"status": "failed", "external_error": "Número sem WhatsApp"}, headers=admin.headers)
    assert failed.json()["status"] == "failed" and failed.json()["external_error"] == "Número sem WhatsApp"
    assert (await client.patch(f"{url}/{other['id']}", json={"status": "lost"}, headers=admin.headers)).status_code == 422
    assert (await client.patch(f"{url}/999999", json={"status": "sent"}, headers=admin.headers)).status_code == 404

    telegram = (await client.post(f"{account}/inboxes", json={"name": "TG", "channel_type": "telegram", "credentials": {"bot_token": "123:abc"}}, headers=admin.headers)).json()
    tg_contact = await _contact(client, admin, name="Bia")
    tg_conversation = await client.post(f"{account}/conversations", json={"inbox_id": telegram["id"], "contact_id": tg_contact["id"]}, headers=admin.headers)
    assert tg_conversation.status_code == 200, tg_conversation.text
    tg_url = f"{account}/conversations/{tg_conversation.json()['id']}/messages"
    note = (await client.post(tg_url, json={"content": "nota", "private": True}, headers=admin.headers)).json()
    refused = await client.patch(f"{tg_url}/{note['id']}", json={"status": "read"}, headers=admin.headers)
    assert refused.status_code == 403


async def test_conversation_and_inbox_events_reach_their_subscribers(
    client: httpx.AsyncClient, runtime: Runtime, worker: Any, receiver: Receiver
) -> None:
    admin = await make_member(runtime)
    account = _account(admin)
    await _webhook(client, admin, receiver.url, subscriptions=[
        "inbox_created", "inbox_updated", "conversation_created", "conversation_updated",
        "conversation_status_changed", "conversation_typing_on",
    ])
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    await client.patch(f"{account}/inboxes/{inbox['id']}", json={"name": "Site"}, headers=admin.headers)
    contact = await _contact(client, admin, inbox_id=inbox["id"], identifier="ana-1")
    conversation = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=admin.headers)).json()
    url = f"{account}/conversations/{conversation['id']}"
    await client.post(f"{url}/toggle_priority", json={"priority": "urgent"}, headers=admin.headers)
    await client.post(f"{url}/toggle_typing_status", json={"typing_status": "on"}, headers=admin.headers)
    await client.post(f"{url}/toggle_status", json={"status": "resolved"}, headers=admin.headers)

    async def all_arrived() -> None:
        names = [r.event for r in receiver.received]
        assert names.count("conversation_updated") == 2 and "conversation_status_changed" in names, names
        assert "conversation_typing_on" in names and "inbox_updated" in names, names

    await eventually(all_arrived)
    names = [r.event for r in receiver.received]
    # One target receives each subject's events in the order they happened: the inbox's, the conversation's.
    assert [name for name in names if name.startswith("inbox_")] == ["inbox_created", "inbox_updated"], names
    assert [name for name in names if name.startswith("conversation_")] == [
        "conversation_created", "conversation_updated", "conversation_typing_on", "conversation_status_changed",
        "conversation_updated",
    ], names
    assert receiver.events("inbox_updated")[0].body["name"] == "Site"
    created = receiver.events("conversation_created")[0].body
    assert created["id"] == conversation["id"] and created["meta"]["sender"]["identifier"] == "ana-1"
    assert created["contact_inbox"]["source_id"] and "messages" in created
    updates = [r.body["changed_attributes"] for r in receiver.events("conversation_updated")]
    assert updates == [
        [{"priority": {"previous_value": None, "current_value": "urgent"}}],
        [{"status": {"previous_value": "open", "current_value": "resolved"}}],
    ]
    typing = receiver.events("conversation_typing_on")[0].body
    assert typing["user"]["id"] == admin.user.id and typing["is_private"] is False and typing["conversation"]["id"] == conversation["id"]


async def _fan_out_statements(runtime: Runtime, account_id: int) -> tuple[int, int]:
    """Run the account's queued fan-out jobs as one batch, as `webhooks.fanout` does: the statements it
    took (the delivery jobs' INSERT at commit included; on SQLite, which inserts rows one statement each,
    INSERTs are not counted) and the deliveries it wrote."""
    async with runtime.db.session(write=False) as session:
        batch = list(await session.scalars(
            select(Job.args).where(Job.kind == FANOUT_JOB, Job.account_id == account_id).order_by(Job.id)
        ))
    statements = 0

    one_row_inserts = runtime.db.engine.dialect.name == "sqlite"  # as in tests/channels/whatsapp/test_inbound_batches.py

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal statements
        if not (one_row_inserts and statement.startswith("INSERT")):
            statements += 1

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with runtime.db.session() as session:
            fan_out = await _FanOut.start(session, account_id, batch)
            assert fan_out is not None
            for args in batch:
                await fan_out.add(**args)
            await fan_out.write()
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    async with runtime.db.session(write=False) as session:
        deliveries = await session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.account_id == account_id)
        )
    return statements, int(deliveries or 0)


async def test_a_fan_out_batch_costs_the_same_few_statements_whatever_its_size(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Set-based fan-out: one select per kind of row, one INSERT per kind written, however many events
    and conversations the batch holds (built one event at a time, each took a dozen statements)."""
    counted = []
    for conversations in (1, 4):
        admin = await make_member(runtime)
        account = _account(admin)
        await _webhook(client, admin, "http://127.0.0.1:9/crm")
        inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
        for n in range(conversations):
            contact = await _contact(client, admin, name=f"Cliente {n}", inbox_id=inbox["id"])
            conversation = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"]}, headers=admin.headers)).json()
            url = f"{account}/conversations/{conversation['id']}/messages"
            for message in ({"content": "Oi", "message_type": "incoming"}, {"content": "Olá!"}):
                assert (await client.post(url, json=message, headers=admin.headers)).status_code == 200
        counted.append(await _fan_out_statements(runtime, admin.account.id))
    (few_statements, few_deliveries), (many_statements, many_deliveries) = counted
    assert many_deliveries > few_deliveries * 3  # contact, conversation and both messages' events, per conversation
    assert many_statements == few_statements, counted
