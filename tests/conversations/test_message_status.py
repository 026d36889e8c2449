from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from nexa.conversations.messages import (
    apply_status,
    message_rows,
    select_message_rows,
    status_advances,
    write_statuses,
)
from nexa.conversations.models import Message
from nexa.conversations.models import MessageStatus as S
from nexa.runtime import Runtime
from tests.factories import make_member


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        (S.pending, S.sent, True),
        (S.sent, S.delivered, True),
        (S.delivered, S.read, True),
        (S.pending, S.read, True),  # Meta may skip "delivered": read implies it
        (S.read, S.delivered, False),
        (S.delivered, S.sent, False),
        (S.read, S.read, False),  # a duplicate receipt
        (S.sent, S.failed, True),
        (S.pending, S.failed, True),
        (S.delivered, S.failed, False),  # it reached the customer
        (S.failed, S.sent, False),  # "failed" arrived before the "sent" of the same message
        (S.failed, S.delivered, True),
        (S.failed, S.read, True),
        (S.failed, S.failed, False),
    ],
)
def test_receipts_only_move_forward(current: S, new: S, moves: bool) -> None:
    assert status_advances(current, new) is moves


async def test_a_status_written_from_an_older_read_never_moves_the_stored_one_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A batch reads two replies without a lock; meanwhile another transaction applies its `read`. The
    batch's `delivered`, computed from the older read, must not overwrite it; where the stored status is
    still the one read, the write moves it."""
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    contact = (await client.post(f"{account}/contacts", json={"name": "Ana", "inbox_id": inbox["id"]}, headers=admin.headers)).json()
    conversation = (await client.post(
        f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["payload"]["contact"]["id"]},
        headers=admin.headers,
    )).json()
    url = f"{account}/conversations/{conversation['id']}/messages"
    replies = [(await client.post(url, json={"content": text}, headers=admin.headers)).json()["id"] for text in ("Olá", "Tudo bem?")]

    async with runtime.db.session() as session:
        rows = message_rows(await session.execute(select_message_rows().where(Message.id.in_(replies)).order_by(Message.id)))
    assert [row.status for row in rows] == [S.pending, S.pending]  # an API inbox's replies, not yet posted
    async with runtime.db.session() as session:  # the other transaction: the first reply was read
        await session.execute(update(Message).where(Message.id == replies[0]).values(status=S.read))
    async with runtime.db.session() as session:
        for row in rows:
            assert await apply_status(session, row, row.conversation, S.delivered)
        await write_statuses(session, rows)
    async with runtime.db.session(write=False) as session:
        stored = list(await session.scalars(select(Message.status).where(Message.id.in_(replies)).order_by(Message.id)))
    assert stored == [S.read, S.delivered]
