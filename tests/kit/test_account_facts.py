"""A fact loaded before some work outlives the work: it is reloaded in the second half of its life."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.inboxes.models import Inbox
from nexa.kit import account_facts
from nexa.kit.account_facts import AccountFact
from nexa.runtime import Runtime
from nexa.webhooks.outbox import HAS_TARGETS
from tests.factories import make_agent_bot, make_member, whatsapp_channel


async def test_a_fact_is_reloaded_once_half_its_life_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []

    async def loader(_session: AsyncSession, account_id: int) -> bool:
        loads.append(account_id)
        return False

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(account_facts, "_FACTS", [])
    fact = AccountFact("test fact", loader, ttl=10.0)
    session = None  # the loader above reads nothing

    assert fact.needs_refresh(7)
    await fact.refresh(session, 7)  # type: ignore[arg-type]
    assert loads == [7] and fact.known(7) is False

    now[0] += 4.9  # first half: fresh, nothing to load
    assert not fact.needs_refresh(7)
    await fact.refresh(session, 7)  # type: ignore[arg-type]
    assert loads == [7]

    now[0] += 0.2  # second half: still known, but loaded again so it lasts another full life
    assert fact.known(7) is False and fact.needs_refresh(7)
    await fact.refresh(session, 7)  # type: ignore[arg-type]
    assert loads == [7, 7]
    now[0] += 9.9
    assert fact.known(7) is False


async def test_a_changed_fact_is_unknown_and_not_reloaded_until_the_change_settles(monkeypatch: pytest.MonkeyPatch) -> None:
    async def loader(_session: AsyncSession, _account_id: int) -> bool:
        return True

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(account_facts, "_FACTS", [])
    fact = AccountFact("test fact", loader, ttl=10.0)
    await fact.refresh(None, 7)  # type: ignore[arg-type]
    fact.changed(7)
    assert fact.known(7) is None and not fact.needs_refresh(7)
    now[0] += 10.1
    assert fact.needs_refresh(7)


async def test_webhook_targets_are_unsettled_by_the_inbox_columns_they_are_derived_from_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    member = await make_member(runtime)
    account_id = member.account.id
    created = await client.post(f"/api/v1/accounts/{account_id}/inboxes", json={"name": "WA", "channel": whatsapp_channel()},
                                headers=member.headers)
    assert created.status_code == 200, created.text
    bot_id, _ = await make_agent_bot(runtime, member.account)

    async def settled_and_loaded() -> None:
        HAS_TARGETS._unsettled.pop(account_id, None)  # the creation above is settled
        async with runtime.db.session(write=False) as session:
            await HAS_TARGETS.refresh(session, account_id)
        assert HAS_TARGETS.known(account_id) is False

    async def update_inbox(**changes: object) -> None:
        async with runtime.db.session() as session:
            inbox = await session.get(Inbox, created.json()["id"])
            assert inbox is not None
            for name, value in changes.items():
                setattr(inbox, name, value)

    await settled_and_loaded()
    # A template sync or a settings change: no webhook target can come of it.
    await update_inbox(name="WhatsApp vendas", message_templates=[{"name": "hello", "language": "pt_BR"}])
    assert HAS_TARGETS.known(account_id) is False
    # An agent bot on the inbox is a target.
    await update_inbox(agent_bot_id=bot_id)
    assert HAS_TARGETS.known(account_id) is None
