"""Publishing from a transaction: emitted after commit, to explicit channels, never on rollback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nexa.db.engine import Database
from nexa.realtime import (
    Event,
    EventName,
    Hub,
    account_channel,
    contact_channel,
    conversation_channel,
    inbox_channel,
    publish,
    publish_now,
    user_channel,
)
from nexa.tenancy.models import Account
from tests.realtime.conftest import next_event, received


def event(name: EventName, data: dict[str, Any], account_id: int, *channels: str) -> Event:
    return Event(name, data, account_id=account_id, channels=channels)


async def new_account(db: Database, name: str) -> int:
    async with db.session() as session:
        account = Account(name=name)
        session.add(account)
        await session.flush()
        return account.id


async def test_event_is_emitted_after_commit_to_its_channel_only(db: Database, hub: Hub) -> None:
    acme = await new_account(db, "Acme")
    async with hub.connect([account_channel(acme)]) as agent, hub.connect([inbox_channel(99)]) as other:
        async with db.session() as session:
            account = await session.get(Account, acme)
            assert account is not None
            account.name = "Acme Ltda"
            publish(session, event(EventName.ACCOUNT_CACHE_INVALIDATED, {"name": account.name}, acme,
                                   account_channel(acme)))
            # Sent right away: if `publish` did not wait for the commit, its event would arrive first.
            await publish_now(event(EventName.PRESENCE_UPDATE, {"users": {}}, acme, account_channel(acme)))

        first, second = await next_event(agent), await next_event(agent)
        assert first.name == EventName.PRESENCE_UPDATE
        assert second.name == EventName.ACCOUNT_CACHE_INVALIDATED
        assert second.data == {"name": "Acme Ltda", "account_id": acme}
        assert json.loads(second.frame) == {
            "event": "account.cache_invalidated", "data": {"name": "Acme Ltda", "account_id": acme}
        }
        assert await received(other) == [[]]


async def test_rolled_back_transaction_emits_nothing(db: Database, hub: Hub) -> None:
    acme = await new_account(db, "Acme")
    async with hub.connect([account_channel(acme)]) as agent:
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                session.add(Account(name="Never"))
                await session.flush()
                publish(session, event(EventName.CONTACT_CREATED, {"id": 1}, acme, account_channel(acme)))
                raise RuntimeError("validation failed after the event was recorded")
        assert await received(agent) == [[]]


async def test_an_agent_of_one_account_never_sees_another_accounts_events(db: Database, hub: Hub) -> None:
    acme, globex = await new_account(db, "Acme"), await new_account(db, "Globex")
    acme_agent = hub.connect([account_channel(acme), user_channel(1)])
    globex_agent = hub.connect([account_channel(globex), user_channel(2)])
    async with acme_agent, globex_agent:
        for account_id, contact_id in ((acme, 10), (globex, 20)):
            async with db.session() as session:
                publish(session, event(EventName.CONTACT_UPDATED, {"id": contact_id}, account_id,
                                       account_channel(account_id)))

        acme_events, globex_events = await received(acme_agent, globex_agent)
        assert [(e.account_id, e.data["id"]) for e in acme_events] == [(acme, 10)]
        assert [(e.account_id, e.data["id"]) for e in globex_events] == [(globex, 20)]


async def test_each_client_gets_an_event_once_even_when_several_of_its_channels_match(hub: Hub) -> None:
    agent = hub.connect([account_channel(1), conversation_channel(5)])
    widget = hub.connect([contact_channel(7)])
    other_widget = hub.connect([contact_channel(8)])
    async with agent, widget, other_widget:
        await publish_now(event(EventName.MESSAGE_CREATED, {"id": 1, "content": "Olá, tudo bem?"}, 1,
                                account_channel(1), conversation_channel(5), contact_channel(7)))
        # A private note: agents only.
        note = event(EventName.MESSAGE_CREATED, {"id": 2, "private": True}, 1, conversation_channel(5))
        await publish_now(note)

        agent_events, widget_events, other_events = await received(agent, widget, other_widget)
        assert [e.data["id"] for e in agent_events] == [1, 2]
        assert [(e.data["id"], e.data["content"]) for e in widget_events] == [(1, "Olá, tudo bem?")]
        assert other_events == []


def test_an_event_is_checked_where_it_is_built() -> None:
    with pytest.raises(ValueError, match="at least one channel"):
        event(EventName.CONTACT_UPDATED, {"id": 1}, 1)
    with pytest.raises(TypeError):
        event(EventName.CONTACT_UPDATED, {"at": object()}, 1, account_channel(1))
    with pytest.raises(ValueError):
        event("contact.exploded", {}, 1, account_channel(1))  # type: ignore[arg-type]


def test_later_changes_to_the_payload_do_not_leak_into_the_event() -> None:
    payload = {"status": "open"}
    status_changed = event(EventName.CONVERSATION_STATUS_CHANGED, payload, 3, account_channel(3))
    payload["status"] = "resolved"
    assert status_changed.data["status"] == "open"
    assert json.loads(status_changed.frame)["data"]["status"] == "open"
