"""WhatsApp message templates synced from Meta (the fake Graph API) onto the inbox: on create, on a token
change, on an admin's request, periodically; Meta's refusals shown in plain words."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nexa.auth.models import Role
from nexa.channels.base import DeliveryError
from nexa.devtools.fake_graph import FakeGraph, message_template
from nexa.inboxes.jobs import resync_message_templates, sync_message_templates
from nexa.inboxes.models import Inbox
from nexa.inboxes.templates import RESYNC_AFTER, RESYNC_JOB, SYNC_JOB
from nexa.jobs.models import Job
from nexa.jobs.registry import JobContext, recurring_jobs
from nexa.jobs.worker import Worker
from nexa.kit.clock import utcnow
from nexa.runtime import Runtime
from tests.bot.harness import settle
from tests.channels.whatsapp.helpers import WhatsAppInbox, create_whatsapp_inbox
from tests.factories import Member, make_account, make_member

TEMPLATES = [
    message_template("pedido_enviado", "Olá {{1}}, seu pedido {{2}} saiu para entrega."),
    message_template("retomar_contato", "Oi {{first_name}}, ainda posso ajudar?", language="es"),
    message_template("promo_natal", "Promoção de Natal!", status="PENDING", category="MARKETING"),
]


async def _inbox_json(client: httpx.AsyncClient, inbox: WhatsAppInbox) -> dict[str, Any]:
    response = await client.get(f"{inbox.account_url}/inboxes/{inbox.id}", headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _inbox_with(
    client: httpx.AsyncClient, admin: Member, provider_config: dict[str, str]
) -> WhatsAppInbox:
    """A WhatsApp Cloud inbox created with these provider settings (e.g. a token Meta refuses)."""
    created = await client.post(
        f"/api/v1/accounts/{admin.account.id}/inboxes",
        headers=admin.headers,
        json={
            "name": "Vendas",
            "channel": {"type": "whatsapp", "provider": "whatsapp_cloud", "provider_config": provider_config},
        },
    )
    assert created.status_code == 200, created.text
    return WhatsAppInbox(admin, created.json())


def _listings(fake: FakeGraph) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/message_templates")]


def _context(
    runtime: Runtime, account_id: int | None, *, attempt: int = 1, max_attempts: int = 4
) -> JobContext:
    return JobContext(
        job_id=1,
        kind=SYNC_JOB,
        queue="default",
        attempt=attempt,
        max_attempts=max_attempts,
        account_id=account_id,
        database=runtime.db,
        logger=logging.getLogger("test"),
    )


async def test_a_new_inbox_syncs_every_page_of_its_templates_and_an_admin_syncs_again(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, worker: Worker
) -> None:
    fake_graph.templates = list(TEMPLATES)
    fake_graph.templates_per_page = 2
    admin = await make_member(runtime)
    inbox = await create_whatsapp_inbox(client, admin, fake_graph)
    await settle(runtime)

    shown = await _inbox_json(client, inbox)
    assert [(t["name"], t["language"], t["status"]) for t in shown["message_templates"]] == [
        ("pedido_enviado", "pt_BR", "APPROVED"),
        ("retomar_contato", "es", "APPROVED"),
        ("promo_natal", "pt_BR", "PENDING"),
    ]
    assert shown["message_templates"][0]["components"] == [
        {"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} saiu para entrega."}
    ]
    assert (
        shown["message_templates_last_updated"] is not None and shown["message_templates_sync_error"] is None
    )
    first, second = _listings(fake_graph)
    assert first.path == f"/v25.0/{fake_graph.waba_id}/message_templates"
    assert first.json["fields"] == "name,language,status,category,components,id" and "after" not in first.json
    assert second.json["after"] and second.headers["authorization"] == f"Bearer {fake_graph.access_token}"

    fake_graph.templates = [message_template("boas_vindas", "Bem-vindo!")]
    answer = await client.post(
        f"{inbox.account_url}/inboxes/{inbox.id}/sync_templates", headers=admin.headers
    )
    assert answer.status_code == 200 and answer.json() == {"message": "Template sync initiated successfully"}
    await settle(runtime)
    again = await _inbox_json(client, inbox)
    assert [t["name"] for t in again["message_templates"]] == ["boas_vindas"]
    assert again["message_templates_last_updated"] > shown["message_templates_last_updated"]
    # Agents see the templates (the composer offers them) but may not start a sync.
    agent = await make_member(runtime, admin.account, role=Role.agent)
    await client.post(
        f"{inbox.account_url}/inbox_members",
        json={"inbox_id": inbox.id, "user_ids": [agent.user.id]},
        headers=admin.headers,
    )
    listed = (await client.get(f"{inbox.account_url}/inboxes", headers=agent.headers)).json()["payload"]
    assert [t["name"] for t in listed[0]["message_templates"]] == ["boas_vindas"]
    refused = await client.post(
        f"{inbox.account_url}/inboxes/{inbox.id}/sync_templates", headers=agent.headers
    )
    assert refused.status_code == 401


async def test_a_refused_token_is_shown_in_plain_words_and_a_new_token_syncs_again(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, worker: Worker
) -> None:
    fake_graph.templates = list(TEMPLATES)
    admin = await make_member(runtime)
    inbox = await _inbox_with(client, admin, fake_graph.provider_config() | {"api_key": "EAAG-revoked"})
    await settle(runtime)

    failed = await _inbox_json(client, inbox)
    assert failed["message_templates"] == [] and failed["message_templates_last_updated"] is None
    assert failed["message_templates_sync_error"] == (
        "The access token has expired or was revoked: generate a new permanent token and save it on the inbox."
    )
    assert len(_listings(fake_graph)) == 1  # a refused token is not retried

    renamed = await client.patch(
        f"{inbox.account_url}/inboxes/{inbox.id}", json={"name": "Vendas SP"}, headers=admin.headers
    )
    assert renamed.status_code == 200
    await settle(runtime)
    assert len(_listings(fake_graph)) == 1  # nothing the listing depends on changed

    fixed = await client.patch(
        f"{inbox.account_url}/inboxes/{inbox.id}",
        json={"credentials": {"access_token": fake_graph.access_token}},
        headers=admin.headers,
    )
    assert fixed.status_code == 200, fixed.text
    await settle(runtime)
    synced = await _inbox_json(client, inbox)
    assert len(synced["message_templates"]) == 3 and synced["message_templates_sync_error"] is None


async def test_a_wrong_business_account_id_is_named(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, worker: Worker
) -> None:
    admin = await make_member(runtime)
    inbox = await _inbox_with(client, admin, fake_graph.provider_config() | {"business_account_id": "999"})
    await settle(runtime)
    shown = await _inbox_json(client, inbox)
    assert "WhatsApp does not know the business account 999" in shown["message_templates_sync_error"]


async def test_meta_down_is_retried_and_only_the_last_attempt_is_stored_keeping_the_last_good_list(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    fake_graph.templates = list(TEMPLATES)
    admin = await make_member(runtime)
    inbox = await create_whatsapp_inbox(client, admin, fake_graph)  # no worker: the job waits; run it by hand
    await sync_message_templates(_context(runtime, admin.account.id), inbox_id=inbox.id)
    assert len((await _inbox_json(client, inbox))["message_templates"]) == 3

    fake_graph.fail_template_listing(2, status=500)
    with pytest.raises(DeliveryError) as temporary:
        await sync_message_templates(_context(runtime, admin.account.id, attempt=1), inbox_id=inbox.id)
    assert temporary.value.retryable
    assert (await _inbox_json(client, inbox))["message_templates_sync_error"] is None
    await sync_message_templates(_context(runtime, admin.account.id, attempt=4), inbox_id=inbox.id)
    shown = await _inbox_json(client, inbox)
    assert shown["message_templates_sync_error"] == "WhatsApp had a temporary problem: it will be retried."
    assert len(shown["message_templates"]) == 3  # the last good list stays usable

    # Another account's job cannot reach this inbox.
    other = await make_account(runtime)
    fake_graph.templates = []
    await sync_message_templates(_context(runtime, other.id), inbox_id=inbox.id)
    assert len((await _inbox_json(client, inbox))["message_templates"]) == 3


async def test_other_channels_have_no_templates_to_sync(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/inboxes"
    api_inbox = (
        await client.post(base, json={"name": "API", "channel": {"type": "api"}}, headers=admin.headers)
    ).json()
    assert api_inbox["message_templates"] == [] and api_inbox["message_templates_last_updated"] is None

    refused = await client.post(f"{base}/{api_inbox['id']}/sync_templates", headers=admin.headers)
    assert refused.status_code == 422
    assert refused.json() == {"error": "Only WhatsApp Cloud inboxes have message templates to sync."}
    async with runtime.db.session(write=False) as session:
        assert await session.scalar(select(Job.id).where(Job.kind == SYNC_JOB)) is None


async def test_the_periodic_job_queues_a_sync_for_every_stale_whatsapp_inbox_of_every_account(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    assert any(entry.kind == RESYNC_JOB for entry in recurring_jobs())
    first, second = await make_member(runtime), await make_member(runtime)
    stale = await create_whatsapp_inbox(client, first, fake_graph)
    fresh = await create_whatsapp_inbox(client, second, fake_graph)
    never = await create_whatsapp_inbox(client, second, fake_graph, name="Suporte", phone_number_id="2002")
    await client.post(
        f"/api/v1/accounts/{first.account.id}/inboxes",
        json={"name": "API", "channel": {"type": "api"}},
        headers=first.headers,
    )
    async with runtime.db.session() as session:
        await session.execute(Job.__table__.delete())  # the syncs queued on create
        for inbox_id, attempted in (
            (stale.id, utcnow() - RESYNC_AFTER - timedelta(minutes=1)),
            (fresh.id, utcnow()),
        ):
            row = await session.get(Inbox, inbox_id)
            assert row is not None
            row.message_templates_sync_attempted_at = attempted

    await resync_message_templates(_context(runtime, None))
    async with runtime.db.session(write=False) as session:
        queued = (await session.execute(select(Job.args, Job.account_id).where(Job.kind == SYNC_JOB))).all()
    assert sorted((args["inbox_id"], account_id) for args, account_id in queued) == sorted(
        [(stale.id, first.account.id), (never.id, second.account.id)]
    )
    # Run again before those syncs ran: each inbox still has one sync waiting, not two.
    await resync_message_templates(_context(runtime, None))
    async with runtime.db.session(write=False) as session:
        assert len((await session.scalars(select(Job.id).where(Job.kind == SYNC_JOB))).all()) == 2
