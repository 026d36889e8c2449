"""Bot turns waiting in several conversations run as one chunk: one transaction for all of them, one
UPDATE of the rule counter with their sum, and a turn that fails fails only its own job."""

from __future__ import annotations

import collections
import contextvars
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot import runner
from nexa.bot.follow_ups import FOLLOW_UP_JOB
from nexa.bot.rules import service as rules_service
from nexa.channels.inbound_queue import INBOUND_QUEUE
from nexa.conversations.models import Conversation, Message
from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.models import AVAILABLE, SCHEDULED, Job, state_is
from nexa.jobs.worker import Worker
from nexa.kit.clock import utcnow
from nexa.runtime import Runtime
from tests.bot.harness import settle
from tests.channels.conftest import inbound_settled
from tests.channels.outbound.harness import eventually
from tests.channels.whatsapp.helpers import WhatsAppInbox
from tests.spies import record_chunk_sizes

CUSTOMERS = [f"55119777700{n:02d}" for n in range(4)]


async def _messages_waiting_for_the_bot(client: httpx.AsyncClient, runtime: Runtime, fake: FakeGraph, inbox: WhatsAppInbox) -> dict[str, Any]:
    """The rule that answers everything, and one customer message per conversation whose turn waits: only
    an inbound worker ran."""
    rule = {"name": "Answer everything", "kind": "pattern", "pattern": ".", "reply": "Obrigado!"}
    response = await client.post(f"{inbox.account_url}/bot/rules", json=rule, headers=inbox.member.headers)
    assert response.status_code == 200, response.text
    await _customers_write(client, runtime, fake, inbox, "Oi, aqui é")
    return response.json()


async def _customers_write(client: httpx.AsyncClient, runtime: Runtime, fake: FakeGraph, inbox: WhatsAppInbox, text: str) -> None:
    """Each customer writes `text` and their number; only an inbound worker runs, so every turn waits."""
    inbound = Worker(runtime.db, runtime.settings, queues=[INBOUND_QUEUE])
    await inbound.start()
    try:
        for number in CUSTOMERS:
            assert (await fake.customer_says(client, inbox.callback_path, f"{text} {number}", from_=number)).status_code == 200
        await inbound_settled(runtime.db)
    finally:
        await inbound.stop(timeout=5)
    async with runtime.db.session(write=False) as session:
        waiting = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == runner.HANDLE_MESSAGE_JOB, state_is(AVAILABLE))
        )
    assert waiting == len(CUSTOMERS)


async def _run_bot_and_deliveries(runtime: Runtime) -> None:
    worker = Worker(runtime.db, runtime.settings)
    await worker.start()
    try:
        await settle(runtime)
    finally:
        await worker.stop(timeout=5)


async def test_turns_waiting_in_several_conversations_run_in_one_transaction(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rule = await _messages_waiting_for_the_bot(client, runtime, fake_graph, bot_inbox)
    chunks = record_chunk_sizes(monkeypatch, runner, "_take_turns")
    await _run_bot_and_deliveries(runtime)

    assert chunks == [len(CUSTOMERS)]
    assert sorted(record.to for record in fake_graph.sent) == CUSTOMERS
    assert {record.text for record in fake_graph.sent} == {"Obrigado!"}
    used = (await client.get(f"{bot_inbox.account_url}/bot/rules/{rule['id']}", headers=bot_inbox.member.headers)).json()
    assert used["usage_count"] == len(CUSTOMERS)


# The statements a chunk of turns runs on PostgreSQL, whatever its number of turns: its replies, their
# deliveries, their follow-ups and the bot's state in conversations it has not talked in are one INSERT each
# (the webhook outbox's fan-out jobs, while there are any, are one more, written by the commit).
# The first chunk also reads the rules (once per process and rules version) and inserts the new states.
CHUNK_BUDGET = 7
FIRST_CHUNK_BUDGET = CHUNK_BUDGET + 3


async def test_a_chunk_of_turns_writes_its_replies_deliveries_follow_ups_and_new_states_with_one_insert_each(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chunks = record_chunk_sizes(monkeypatch, runner, "_take_turns")
    # The rules' version is checked again after 2 s (one SELECT, and the UPDATE it splits in two): on a slow
    # machine the two chunks can be further apart than that, which is not what this budget is about.
    monkeypatch.setattr(rules_service, "VERSION_CHECK_SECONDS", 3600.0)
    statements: list[list[str]] = []
    in_chunk: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("in_chunk", default=None)
    take_turns = runner._take_turns

    async def counted(session: AsyncSession, advised: Any) -> Any:
        statements.append([])
        token = in_chunk.set(statements[-1])
        try:
            return await take_turns(session, advised)
        finally:
            in_chunk.reset(token)

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        chunk = in_chunk.get()
        if chunk is not None:
            chunk.append(statement)

    monkeypatch.setattr(runner, "_take_turns", counted)
    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await _messages_waiting_for_the_bot(client, runtime, fake_graph, bot_inbox)
        await _run_bot_and_deliveries(runtime)  # the bot talks in every conversation now
        await _customers_write(client, runtime, fake_graph, bot_inbox, "Quero saber o preço,")
        await _run_bot_and_deliveries(runtime)
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", record)

    assert chunks == [len(CUSTOMERS), len(CUSTOMERS)]
    assert sorted(record.to for record in fake_graph.sent) == sorted(CUSTOMERS * 2)
    async with runtime.db.session(write=False) as session:
        follow_ups = (await session.scalars(select(Job.args).where(Job.kind == FOLLOW_UP_JOB, state_is(SCHEDULED)))).all()
    assert len(follow_ups) == len(CUSTOMERS)  # each replaced by the second turn's own
    if runtime.db.is_postgres:  # SQLite's INSERTs run a row at a time, and in this process
        first, second = (collections.Counter(s.split("(")[0].strip() for s in chunk if s.startswith("INSERT")) for chunk in statements)
        # Jobs: the deliveries and the follow-ups. The webhook outbox's fan-outs, which it adds while this
        # process has not loaded the account's facts (it cannot tell the account has no webhook), are kept
        # and written by the commit (`add_job`), after the chunk.
        assert first == {"INSERT INTO bot_conversations": 1, "INSERT INTO messages": 1, "INSERT INTO jobs": 2}, first
        assert second == {"INSERT INTO messages": 1, "INSERT INTO jobs": 2}, second
        shapes = ["; ".join(statement[:30] for statement in chunk) for chunk in statements]
        assert len(statements[0]) <= FIRST_CHUNK_BUDGET and len(statements[1]) <= CHUNK_BUDGET, shapes


async def test_a_turn_that_fails_fails_only_its_own_job(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rule = await _messages_waiting_for_the_bot(client, runtime, fake_graph, bot_inbox)
    broken = CUSTOMERS[2]
    take_turn = runner.take_turn
    failures = {"left": 2}  # in the chunk's transaction, then in its own; its retry goes through

    async def flaky(turn: runner.Turn) -> bool:
        stays = await take_turn(turn)
        if failures["left"] and (turn.message.content or "").endswith(broken):
            failures["left"] -= 1
            raise RuntimeError("the turn broke after its writes")
        return stays

    monkeypatch.setattr(runner, "take_turn", flaky)
    worker = Worker(runtime.db, runtime.settings)
    await worker.start()
    try:
        async def the_others_answered_and_the_broken_one_waits() -> None:
            assert sorted(record.to for record in fake_graph.sent) == [n for n in CUSTOMERS if n != broken]
            job = await _bot_job_of(runtime, broken)
            assert job.state == "retryable" and [e["error"] for e in job.errors] == ["RuntimeError: the turn broke after its writes"]

        await eventually(the_others_answered_and_the_broken_one_waits)
        async with runtime.db.session() as session:  # its backoff is over
            await session.execute(update(Job).where(Job.id == (await _bot_job_of(runtime, broken)).id).values(scheduled_at=utcnow()))
        await settle(runtime)
    finally:
        await worker.stop(timeout=5)

    # Everyone got exactly one answer: the broken turn's writes were rolled back twice, then it ran again.
    assert sorted(record.to for record in fake_graph.sent) == CUSTOMERS
    used = (await client.get(f"{bot_inbox.account_url}/bot/rules/{rule['id']}", headers=bot_inbox.member.headers)).json()
    assert used["usage_count"] == len(CUSTOMERS)


async def _bot_job_of(runtime: Runtime, number: str) -> Job:
    async with runtime.db.session(write=False) as session:
        job = await session.scalar(
            select(Job).join(Message, Message.id == Job.args["message_id"].as_integer())
            .where(Job.kind == runner.HANDLE_MESSAGE_JOB, Message.content.endswith(number))
        )
    assert job is not None
    return job


async def test_a_turn_whose_conversation_another_transaction_holds_waits_for_it_without_holding_the_others(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, bot_inbox: WhatsAppInbox,
) -> None:
    if runtime.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: no transaction holds a row while another writes")
    await _messages_waiting_for_the_bot(client, runtime, fake_graph, bot_inbox)
    held = CUSTOMERS[1]
    holder = Database(runtime.db.engine.url.render_as_string(hide_password=False), pool_size=1)
    worker = Worker(runtime.db, runtime.settings)
    try:
        async with holder.session() as session:  # an inbound batch storing this customer's next message, say
            conversation_id = (await _bot_job_of(runtime, held)).args["message_id"]
            await session.execute(
                select(Conversation.id).join(Message, Message.conversation_id == Conversation.id)
                .where(Message.id == conversation_id).with_for_update(of=Conversation)
            )
            await worker.start()

            async def the_others_answered() -> None:
                assert sorted(record.to for record in fake_graph.sent) == [n for n in CUSTOMERS if n != held]
                # Not snoozed (the conversation's next turn could overtake it): it waits for the rows alone.
                job = await _bot_job_of(runtime, held)
                assert job.state == "executing" and not job.meta.get("snoozed")

            await eventually(the_others_answered)

        async def everyone_answered() -> None:  # released: its turn runs
            assert sorted(record.to for record in fake_graph.sent) == CUSTOMERS

        await eventually(everyone_answered)
    finally:
        await worker.stop(timeout=5)
        await holder.dispose()
