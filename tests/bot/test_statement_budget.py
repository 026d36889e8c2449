"""The full loop's hot path in statements: a bot rule reply and its delivery run for every customer message
while the bot has the conversation, so their round trips set the loop's throughput (bench/full_loop.py).
A change that adds statements to either fails here; raise a budget only on purpose."""

from __future__ import annotations

import collections
import contextvars
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.devtools.fake_graph import FakeGraph
from nexa.jobs.models import Job
from nexa.jobs.worker import Worker
from nexa.kit import account_facts
from nexa.kit.logging import job_id_var
from nexa.runtime import Runtime
from tests.bot.harness import Customer
from tests.channels.whatsapp.helpers import WhatsAppInbox

# Statements run by the job handlers themselves (claims and outcomes are the worker's, counted apart).
# SQLite runs in this process, so nothing there is a round trip; its INSERTs (one per row) and BEGINs are
# not counted, and the budgets are PostgreSQL's, where BEGIN is no statement of its own.
BOT_TURN_BUDGET = 7
DELIVERY_BUDGET = 4

counted = contextvars.ContextVar("counted", default=True)


async def test_a_rule_reply_and_its_delivery_stay_within_their_statement_budgets(
    client: httpx.AsyncClient, runtime: Runtime, bot_inbox: WhatsAppInbox, fake_graph: FakeGraph, worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rule = {"name": "Answer everything", "kind": "pattern", "pattern": ".", "reply": "Obrigado!"}
    response = await client.post(f"{bot_inbox.account_url}/bot/rules", json=rule, headers=bot_inbox.member.headers)
    assert response.status_code == 200, response.text
    customer = Customer(client, runtime, fake_graph, bot_inbox)
    assert await customer.says("Oi, tudo bem?") == ["Obrigado!"]  # the conversation and bot state exist now

    per_job: collections.Counter[int] = collections.Counter()
    in_process = runtime.db.is_sqlite

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        job_id = job_id_var.get()
        if job_id is None or not counted.get() or (in_process and statement.startswith(("INSERT", "BEGIN"))):
            return
        per_job[job_id] += 1

    # The worker's read of the account's facts before a job (every few seconds) is not the job's.
    refresh_all = account_facts.refresh_all

    async def uncounted_refresh(session: AsyncSession, account_id: int) -> None:
        token = counted.set(False)
        try:
            await refresh_all(session, account_id)
        finally:
            counted.reset(token)

    monkeypatch.setattr(account_facts, "refresh_all", uncounted_refresh)
    for fact in account_facts._FACTS:
        # Settled, as they are seconds after the last settings change (enabling the bot just now made them
        # unknown for a few seconds, and jobs then write outbox rows as the safe default).
        monkeypatch.setattr(fact, "_unsettled", {})
    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await customer.says("Quero saber o preço") == ["Obrigado!"]
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)

    async with runtime.db.session(write=False) as session:
        kinds = {job_id: kind for job_id, kind in await session.execute(select(Job.id, Job.kind).where(Job.id.in_(per_job)))}
    per_kind: collections.Counter[str] = collections.Counter()
    for job_id, statements in per_job.items():
        per_kind[kinds[job_id]] += statements
    assert per_kind["bot.handle_message"] <= BOT_TURN_BUDGET, per_kind
    assert per_kind["channels.deliver"] <= DELIVERY_BUDGET, per_kind
