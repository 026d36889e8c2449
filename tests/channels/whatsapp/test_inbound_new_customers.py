"""A batch's new customers (a campaign's replies) are added together: contacts, contact inboxes and
conversations cost a few statements for the whole batch, and a customer two batches race to add is still
one contact with one contact inbox and one conversation."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import func, select

from nexa.channels import inbound
from nexa.channels.base import InboundEvent
from nexa.channels.whatsapp_cloud.adapter import WhatsAppCloudAdapter
from nexa.contacts.models import Contact, ContactInbox
from nexa.conversations.models import Conversation
from nexa.devtools.fake_graph import FakeGraph
from nexa.inboxes.models import Inbox
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox
from tests.channels.whatsapp.test_inbound_batches import (  # noqa: F401  (fixtures)
    http,
    inbox,
    post,
    process_stored,
    stored_messages,
)
from tests.fixtures.fake_graph import fake_graph  # noqa: F401  (makes the fixture available here)


def new_customer(n: int) -> str:
    """A distinct Brazilian mobile wa_id for each n, all on one inbound shard (so one batch holds them)."""
    return f"55119{80000000 + 8 * n:08d}"


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_batch_of_new_customers_costs_the_same_few_statements_whatever_its_size(
    http: httpx.AsyncClient, inbox: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph  # noqa: F811
) -> None:
    customers = iter(range(1000))

    async def burst(size: int) -> int:
        for _ in range(size):
            wa_id = new_customer(next(customers))
            await post(http, inbox, fake_graph, messages=[fake_graph.text_message("vi a promoção", from_=wa_id)])
        return await process_stored(runtime)

    await burst(1)
    small, large = await burst(5), await burst(40)

    assert len(await stored_messages(runtime)) == 46
    assert await count(runtime, Contact) == await count(runtime, ContactInbox) == 46
    async with runtime.db.session(write=False) as session:
        started = (await session.scalars(select(Conversation).order_by(Conversation.id))).all()
    assert [c.display_id for c in started] == list(range(1, 47))
    assert len({c.contact_inbox_id for c in started}) == 46
    # One at a time, each new customer took about 11 statements: 35 more customers would add hundreds.
    assert large <= small + 5, (small, large)


async def test_new_customers_of_one_batch_fold_the_brazilian_ninth_digit(
    http: httpx.AsyncClient, inbox: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph  # noqa: F811
) -> None:
    # One person by both forms of their number (two addresses in the inbox), and two other new people.
    for wa_id in ("551187650016", "5511987650016", "5511980000008", "5511980000016"):
        await post(http, inbox, fake_graph, messages=[fake_graph.text_message("oi", from_=wa_id)])

    await process_stored(runtime)

    async with runtime.db.session(write=False) as session:
        contacts = (await session.scalars(select(Contact).order_by(Contact.id))).all()
        addresses = (await session.scalars(select(ContactInbox).order_by(ContactInbox.id))).all()
    assert [c.phone_key for c in contacts] == ["5511987650016", "5511980000008", "5511980000016"]
    assert [(a.source_id, a.contact_id) for a in addresses] == [
        ("551187650016", contacts[0].id), ("5511987650016", contacts[0].id),
        ("5511980000008", contacts[1].id), ("5511980000016", contacts[2].id),
    ]
    assert await count(runtime, Conversation) == 4


async def test_two_batches_racing_for_one_new_customer_make_one_contact_and_one_conversation(
    inbox: WhatsAppInbox, runtime: Runtime, fake_graph: FakeGraph  # noqa: F811
) -> None:
    wa_id = new_customer(7)

    def events(message_id: str) -> list[InboundEvent]:
        body = fake_graph.webhook(messages=[fake_graph.text_message("oi", id=message_id, from_=wa_id)])
        return WhatsAppCloudAdapter().parse(json.dumps(body).encode())

    first_stored = asyncio.Event()

    async def first() -> None:
        async with runtime.db.session() as session:
            await inbound.receive(session, await session.get_one(Inbox, inbox.id), events("wamid.R1"))
            first_stored.set()
            # Committed while the second batch, having seen no such customer, inserts them (PostgreSQL:
            # its INSERT waits on this transaction's unique keys, then fails; SQLite: it waits its turn).
            await asyncio.sleep(0.3)

    async def second() -> None:
        await first_stored.wait()
        async with runtime.db.session() as session:
            await inbound.receive(session, await session.get_one(Inbox, inbox.id), events("wamid.R2"))

    await asyncio.gather(first(), second())

    assert await count(runtime, Contact) == await count(runtime, ContactInbox) == 1
    assert await count(runtime, Conversation) == 1
    assert [m.source_id for m in await stored_messages(runtime)] == ["wamid.R1", "wamid.R2"]
