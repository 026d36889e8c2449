"""The webhook route itself: its inbox cache (with the decrypted app secret), its one lookup for many
requests, no session of its own when the inbox is cached, its place in the app's metrics, and the
methods it answers."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from cryptography.fernet import MultiFernet
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.channels import webhooks
from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph, sign
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import PublicInboxRepository
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox, all_messages


def _public_id(inbox: WhatsAppInbox) -> str:
    return inbox.callback_path.rsplit("/", 1)[1]


async def test_the_app_secret_is_decrypted_once_per_cached_inbox_and_a_rotated_one_applies_at_once(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    decrypted: list[str] = []
    decrypt = MultiFernet.decrypt

    def counting_decrypt(fernet: MultiFernet, token: bytes, *args: object) -> bytes:
        plaintext = decrypt(fernet, token, *args)  # type: ignore[arg-type]
        decrypted.append(plaintext.decode())
        return plaintext

    monkeypatch.setattr(MultiFernet, "decrypt", counting_decrypt)
    webhooks._inboxes.pop(_public_id(whatsapp), None)
    for text in ("um", "dois", "três"):
        assert (await fake_graph.customer_says(client, whatsapp.callback_path, text)).status_code == 200
    assert decrypted.count(fake_graph.app_secret) == 1

    rotated = await client.patch(f"{whatsapp.account_url}/inboxes/{whatsapp.id}",
                                 json={"credentials": {"app_secret": "rotated-secret"}}, headers=whatsapp.member.headers)
    assert rotated.status_code == 200, rotated.text
    # The update dropped the cached inbox and its secret: the old secret no longer signs, the new one does.
    raw, headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("quatro")]))
    assert (await client.post(whatsapp.callback_path, content=raw, headers=headers)).status_code == 403
    resigned = {**headers, "x-hub-signature-256": sign("rotated-secret", raw)}
    assert (await client.post(whatsapp.callback_path, content=raw, headers=resigned)).status_code == 200
    assert [m["content"] for m in await all_messages(client, whatsapp)] == ["um", "dois", "três", "quatro"]


async def test_requests_that_miss_the_cache_together_share_one_lookup(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = 0
    released = asyncio.Event()
    get_by_public_id = PublicInboxRepository.get_by_public_id

    async def slow_lookup(repository: PublicInboxRepository, public_id: str) -> Inbox | None:
        nonlocal lookups
        lookups += 1
        await released.wait()
        return await get_by_public_id(repository, public_id)

    monkeypatch.setattr(PublicInboxRepository, "get_by_public_id", slow_lookup)
    webhooks._inboxes.pop(_public_id(whatsapp), None)
    posts = [asyncio.create_task(fake_graph.customer_says(client, whatsapp.callback_path, f"mensagem {n}"))
             for n in range(5)]
    await asyncio.sleep(0.2)  # every request is now waiting for the inbox
    released.set()
    assert [answer.status_code for answer in await asyncio.gather(*posts)] == [200] * 5
    assert lookups == 1

    # Cached now: the next webhooks do not look it up.
    assert (await fake_graph.customer_says(client, whatsapp.callback_path, "depois")).status_code == 200
    assert lookups == 1
    assert len(await all_messages(client, whatsapp)) == 6


async def test_webhooks_are_counted_under_their_route_template(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    labels = {"method": "POST", "route": "/webhooks/{channel}/{public_id}", "status": "200"}
    before = REGISTRY.get_sample_value("nexa_http_requests_total", labels) or 0
    answer = await fake_graph.customer_says(client, whatsapp.callback_path, "Oi")
    assert answer.status_code == 200 and answer.headers["x-request-id"]
    assert REGISTRY.get_sample_value("nexa_http_requests_total", labels) == before + 1


async def test_a_webhook_goes_around_the_app_middleware_unless_a_browser_sent_it(
    app: FastAPI, client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Providers' webhooks skip FastAPI's middleware and routing (decision 0009) and answer as before, a
    refusal included; one with an `Origin` header goes the app's whole way, CORS included."""
    went_the_app_way: list[str] = []
    stack = app.middleware_stack or app.build_middleware_stack()

    async def watched(scope: dict[str, object], receive: object, send: object) -> None:
        went_the_app_way.append(str(scope["path"]))
        await stack(scope, receive, send)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "middleware_stack", watched)
    answer = await fake_graph.customer_says(client, whatsapp.callback_path, "Oi")
    assert answer.status_code == 200 and answer.headers["x-request-id"]
    raw, headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("forged")]))
    forged = {**headers, "x-hub-signature-256": sign("not-the-app-secret", raw)}
    refused = await client.post(whatsapp.callback_path, content=raw, headers=forged)
    assert went_the_app_way == []

    from_browser = await client.post(whatsapp.callback_path, content=raw, headers={**forged, "Origin": "https://loja.example"})
    assert went_the_app_way == [whatsapp.callback_path]
    assert from_browser.headers["access-control-allow-origin"] == "*"
    assert refused.status_code == from_browser.status_code == 403 and refused.json() == from_browser.json()
    assert refused.json()["error"] and refused.headers["x-request-id"]


async def test_other_methods_are_not_allowed(client: httpx.AsyncClient, whatsapp: WhatsAppInbox) -> None:
    answer = await client.put(whatsapp.callback_path, content=b"{}")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) >= {"GET", "POST"}


async def test_a_webhook_for_a_cached_inbox_opens_no_database_session_of_its_own(
    app: FastAPI, whatsapp: WhatsAppInbox, fake_graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request only reads the cached inbox; its body is written by the group commit's own task."""
    opened_by: list[asyncio.Task[object] | None] = []
    session = Database.session

    def recording_session(database: Database, **options: bool) -> AbstractAsyncContextManager[AsyncSession]:
        opened_by.append(asyncio.current_task())
        return session(database, **options)

    monkeypatch.setattr(Database, "session", recording_session)
    # The app in this task, without the fixture client's wait for processing after each webhook.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as plain:
        assert (await fake_graph.customer_says(plain, whatsapp.callback_path, "um")).status_code == 200
        opened_by.clear()
        assert (await fake_graph.customer_says(plain, whatsapp.callback_path, "dois")).status_code == 200
    assert asyncio.current_task() not in opened_by
    assert opened_by  # the group commit's transaction, in a task of its own


async def test_a_lookup_during_an_inbox_update_does_not_keep_the_old_inbox_cached(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph, runtime: Runtime
) -> None:
    public_id = _public_id(whatsapp)
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, whatsapp.id)
        assert inbox is not None
        inbox.encrypted_credentials = {
            **inbox.encrypted_credentials, "app_secret": runtime.cipher.encrypt("rotated-secret"),
        }
        await session.flush()
        # A webhook between the flush and the commit: it reads the inbox as it was (the change is not
        # committed yet), which is right for it, but must not stay cached once the change is.
        during = await webhooks._inbox(runtime, public_id)
        assert during is not None and during.credentials.get("app_secret") == fake_graph.app_secret
    raw, headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("depois")]))
    resigned = {**headers, "x-hub-signature-256": sign("rotated-secret", raw)}
    assert (await client.post(whatsapp.callback_path, content=raw, headers=resigned)).status_code == 200
    assert (await client.post(whatsapp.callback_path, content=raw, headers=headers)).status_code == 403


async def test_a_lookup_that_began_before_an_inbox_change_does_not_cache_what_it_read(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph, runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    public_id = _public_id(whatsapp)
    read, finish = asyncio.Event(), asyncio.Event()
    get_by_public_id = PublicInboxRepository.get_by_public_id

    async def slow_lookup(repository: PublicInboxRepository, public_id: str) -> Inbox | None:
        found = await get_by_public_id(repository, public_id)
        read.set()
        await finish.wait()
        return found

    monkeypatch.setattr(PublicInboxRepository, "get_by_public_id", slow_lookup)
    webhooks._inboxes.pop(public_id, None)
    lookup = asyncio.create_task(webhooks._inbox(runtime, public_id))
    await read.wait()  # it holds the inbox as it was
    async with runtime.db.session() as session:
        inbox = await session.get(Inbox, whatsapp.id)
        assert inbox is not None
        inbox.encrypted_credentials = {
            **inbox.encrypted_credentials, "app_secret": runtime.cipher.encrypt("rotated-secret"),
        }
    monkeypatch.setattr(PublicInboxRepository, "get_by_public_id", get_by_public_id)
    finish.set()
    assert (await lookup) is not None
    raw, headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("depois")]))
    resigned = {**headers, "x-hub-signature-256": sign("rotated-secret", raw)}
    assert (await client.post(whatsapp.callback_path, content=raw, headers=resigned)).status_code == 200
