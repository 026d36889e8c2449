"""The agent inbox and the reports at scale: bench/datagen.py's 100,000 conversations and 1,000,000 messages.

    .venv/bin/python bench/inbox_reports.py [--requests 100] [--quick]

One `nexa serve` on the data set; one client sends requests one after another (latency, not load) to
the largest account (50,000 conversations, 500,000 messages):
- inbox list (`GET /api/v1/accounts/{id}/conversations`): Mine and Unassigned as an agent who works two
  inboxes, All as an administrator, All with an inbox and a label filter, and the resolved tab;
- search (`GET .../conversations/search?q=`) for an order number found in one conversation;
- report summary (`GET /api/v2/accounts/{id}/reports/summary`) over the last 30 days and the 30 before.
Reference for each: the raw SQL of the same query (counts + page of 25; the same LIKE; the 14 aggregates)
over a bare asyncpg connection, measured in the same run. Targets (issue 8): list p95 <= 50 ms, report
summary p95 <= 300 ms. Also `inbox_list`, `inbox_search` and `report_summary` of `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import datagen
from bench.harness import ADMIN, Context, NexaServers, Result, percentile, print_table, scenario

LIST_TARGET_MS = 50
REPORT_TARGET_MS = 300
QUICK_CONVERSATIONS = 300


@dataclass
class Session:
    """The running server, logged-in clients and the raw connection, shared by the three scenarios."""

    dataset: datagen.Dataset
    servers: NexaServers
    admin: httpx.AsyncClient
    agent: httpx.AsyncClient
    agent_id: int
    agent_inboxes: list[int]
    raw: asyncpg.Connection
    requests: int
    quick: bool  # toy size: the figures mean nothing, targets are not judged

    @property
    def account(self) -> str:
        return f"/api/v1/accounts/{self.dataset.account_id}"

    @property
    def load(self) -> str:
        return (f"{self.dataset.conversations:,} conv / {self.dataset.messages:,} msg, account of "
                f"{self.dataset.account_conversations:,}; 1 client, {self.requests} sequential")


async def _login(url: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=30)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": ADMIN["password"]})
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client


async def open_session(context: Context, requests: int | None = None) -> Session:
    size, name = ((QUICK_CONVERSATIONS, "nexa_bench_toy") if context.quick
                  else (100_000, context.large_database))
    dataset = await datagen.ensure(context.database_url, name, size, show_progress=not context.quick)
    servers = await NexaServers(dataset.database.url).__aenter__()
    try:
        raw = await asyncpg.connect(dataset.database.dsn)
        agent_id = await raw.fetchval("SELECT id FROM users WHERE email = $1", dataset.agent_email)
        inboxes = [r[0] for r in await raw.fetch(
            "SELECT inbox_id FROM inbox_members WHERE account_id = $1 AND user_id = $2 ORDER BY inbox_id",
            dataset.account_id, agent_id)]
        admin = await _login(servers.url(), datagen.email(dataset.account_id - 1, "admin"))
        agent = await _login(servers.url(), dataset.agent_email)
    except BaseException:
        servers.stop()
        raise
    return Session(dataset, servers, admin, agent, agent_id, inboxes, raw,
                   requests or (5 if context.quick else 100), context.quick)


async def close_session(session: Session) -> None:
    await session.admin.aclose()
    await session.agent.aclose()
    await session.raw.close()
    session.servers.stop()


async def _timed(call: Callable[[], Awaitable[Any]], count: int) -> tuple[list[float], int, float]:
    """Durations of `count` sequential calls after 3 warm-up calls; a call returning False is an error."""
    for _ in range(3):
        await call()
    durations, errors = [], 0
    started = time.perf_counter()
    for _ in range(count):
        begin = time.perf_counter()
        ok = await call()
        durations.append(time.perf_counter() - begin)
        errors += ok is False
    return durations, errors, time.perf_counter() - started


async def _compare(session: Session, name: str, load: str, call: Callable[[], Awaitable[Any]],
                   reference: Callable[[], Awaitable[Any]], target_ms: float) -> Result:
    ours, errors, elapsed = await _timed(call, session.requests)
    theirs, _, _ = await _timed(reference, session.requests)
    p95, raw_p95 = percentile(ours, 0.95) * 1000, percentile(theirs, 0.95) * 1000
    return Result.from_seconds(name, load, ours, throughput=len(ours) / elapsed, unit="req/s", errors=errors,
                               reference=f"raw SQL p95 {raw_p95:.1f} ms", ratio=p95 / raw_p95,
                               target=f"p95 <= {target_ms:.0f} ms", met=None if session.quick else p95 <= target_ms)


def _ok(response: httpx.Response) -> bool:
    return response.status_code == 200


# --- inbox list -----------------------------------------------------------------------------------------

_COUNTS = """SELECT count(*), coalesce(sum(CASE WHEN assignee_id = $2 THEN 1 ELSE 0 END), 0),
                    coalesce(sum(CASE WHEN assignee_id IS NOT NULL THEN 1 ELSE 0 END), 0)
             FROM conversations WHERE account_id = $1 {where}"""
_PAGE = """SELECT * FROM conversations WHERE account_id = $1 {where} {assignee}
           ORDER BY last_activity_at DESC, id DESC LIMIT 25"""


@dataclass(frozen=True)
class ListView:
    name: str
    as_agent: bool
    params: dict[str, Any]
    where: str  # the same filter in SQL, on top of the account ($1); $2 is the viewer's user id
    assignee: str = ""


def list_views(session: Session) -> list[ListView]:
    visible = f"AND inbox_id IN ({', '.join(map(str, session.agent_inboxes))})"
    inbox = session.agent_inboxes[0]
    label = ("AND id IN (SELECT conversation_id FROM conversation_labels WHERE account_id = $1 AND title IN ('vip') "
             "GROUP BY conversation_id HAVING count(*) = 1)")
    return [
        ListView("Mine (agent)", True, {"assignee_type": "me"}, f"AND status = 'open' {visible}", "AND assignee_id = $2"),
        ListView("Unassigned (agent)", True, {"assignee_type": "unassigned"}, f"AND status = 'open' {visible}",
                 "AND assignee_id IS NULL"),
        ListView("All (admin)", False, {"assignee_type": "all"}, "AND status = 'open'"),
        ListView("All, resolved (admin)", False, {"assignee_type": "all", "status": "resolved"}, "AND status = 'resolved'"),
        ListView("All statuses, inbox + label", False,
                 {"assignee_type": "all", "status": "all", "inbox_id": inbox, "labels[]": "vip"},
                 f"AND inbox_id = {inbox} {label}"),
    ]


@scenario("inbox_list", "agent inbox list (Mine / Unassigned / All, filters) at 1M messages vs its raw SQL")
async def inbox_list(context: Context) -> list[Result]:
    session = await open_session(context)
    try:
        return await list_results(session)
    finally:
        await close_session(session)


async def list_results(session: Session) -> list[Result]:
    rows = []
    for view in list_views(session):
        client = session.agent if view.as_agent else session.admin
        viewer = session.agent_id if view.as_agent else 0
        counts = _COUNTS.format(where=view.where)
        page = _PAGE.format(where=view.where, assignee=view.assignee)

        async def call(client: httpx.AsyncClient = client, params: dict[str, Any] = view.params) -> bool:
            return _ok(await client.get(f"{session.account}/conversations", params=params))

        async def reference(counts: str = counts, page: str = page, viewer: int = viewer) -> None:
            await session.raw.fetchrow(counts, session.dataset.account_id, viewer)
            await session.raw.fetch(page, *((session.dataset.account_id, viewer) if "$2" in page else (session.dataset.account_id,)))

        rows.append(await _compare(session, f"inbox list: {view.name}", session.load, call, reference, LIST_TARGET_MS))
    return rows


# --- search ---------------------------------------------------------------------------------------------

_SEARCH = """SELECT * FROM conversations WHERE account_id = $1 AND id IN (
                 SELECT conversation_id FROM messages WHERE account_id = $1 AND lower(content) LIKE $2)
             ORDER BY last_activity_at DESC, id DESC LIMIT 25"""


@scenario("inbox_search", "conversation search by message text (an order number) at 1M messages vs its raw SQL")
async def inbox_search(context: Context) -> list[Result]:
    session = await open_session(context)
    try:
        return [await search_result(session)]
    finally:
        await close_session(session)


async def search_result(session: Session) -> Result:
    term = session.dataset.order_number

    async def call() -> bool:
        response = await session.admin.get(f"{session.account}/conversations/search", params={"q": term})
        return _ok(response) and len(response.json()["data"]["payload"]) == 1

    async def reference() -> None:
        await session.raw.fetch(_SEARCH, session.dataset.account_id, f"%{term.lower()}%")

    return await _compare(session, "inbox search", session.load, call, reference, LIST_TARGET_MS)


# --- report summary -------------------------------------------------------------------------------------

_REPORT_EVENTS = ("SELECT {aggregate} FROM reporting_events WHERE account_id = $1 AND name = '{name}' "
                  "AND created_at >= $2 AND created_at < $3")
# count(*) as Nexa counts: index-only scans (count(id) reads every row's heap tuple).
_REPORT_QUERIES = [
    "SELECT count(*) FROM conversations WHERE account_id = $1 AND created_at >= $2 AND created_at < $3",
    *(f"SELECT count(*) FROM messages WHERE account_id = $1 AND message_type = '{kind}' AND private = false "
      "AND created_at >= $2 AND created_at < $3" for kind in ("incoming", "outgoing")),
    _REPORT_EVENTS.format(aggregate="avg(value)", name="first_response"),
    _REPORT_EVENTS.format(aggregate="avg(value)", name="conversation_resolved"),
    _REPORT_EVENTS.format(aggregate="count(*)", name="conversation_resolved"),
    _REPORT_EVENTS.format(aggregate="avg(value)", name="reply_time"),
]


@scenario("report_summary", "report summary (7 figures, this and the previous 30 days) at 1M messages vs its raw SQL")
async def report_summary(context: Context) -> list[Result]:
    session = await open_session(context)
    try:
        return [await report_result(session)]
    finally:
        await close_session(session)


async def report_result(session: Session) -> Result:
    until = datetime.now(UTC).replace(microsecond=0)
    since = until - timedelta(days=30)
    params = {"type": "account", "since": int(since.timestamp()), "until": int(until.timestamp())}
    path = f"/api/v2/accounts/{session.dataset.account_id}/reports/summary"

    async def call() -> bool:
        return _ok(await session.admin.get(path, params=params))

    async def reference() -> None:
        for start, end in ((since, until), (since - (until - since), since)):
            for query in _REPORT_QUERIES:
                await session.raw.fetchval(query, session.dataset.account_id, start, end)

    return await _compare(session, "report summary (30 days + previous 30)", session.load, call, reference,
                          REPORT_TARGET_MS)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per view")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CONVERSATIONS} conversations instead of 100,000")
    options = parser.parse_args()
    session = await open_session(Context(quick=options.quick), options.requests)
    try:
        rows = [*await list_results(session), await search_result(session), await report_result(session)]
    finally:
        await close_session(session)
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
