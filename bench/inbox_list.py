"""The agent inbox as a browser loads it, at 10,000 conversations: page and first screen, server time.

    .venv/bin/python bench/inbox_list.py [--requests 100] [--quick]

bench/datagen.py's data set at 10,000 conversations (its largest account holds half), one `nexa serve`,
an administrator signed in with the web session cookie (as the browser is). One client, sequential
requests (latency, not load) to:
- the inbox page `GET /app/accounts/{id}/conversations` (session, account, brand, catalog, template);
- the list call the page makes first (`GET .../conversations?assignee_type=me&status=open`, counts + 25);
- the All tab, and a search `q=` by contact name or message text (the inbox's search box).
Reference: the raw SQL of the same list query (counts + page of 25, and for the search the same LIKEs)
over a bare asyncpg connection, in the same run; the ratio is the cost of the API around the query
(auth, tenancy, serialization of contacts, last messages, unread counts, labels). Target (issue 5): the
inbox list in under 300 ms server time. Also `inbox_page` of `python -m bench`; bench/inbox_reports.py
measures the list at 100,000 conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import datagen  # noqa: E402
from bench.harness import ADMIN, Context, NexaServers, Result, percentile, print_table, scenario  # noqa: E402
from bench.inbox_reports import _COUNTS, _PAGE, QUICK_CONVERSATIONS, _timed  # noqa: E402

CONVERSATIONS = 10_000
TARGET_MS = 300
_SEARCH_WHERE = """AND status = 'open' AND (
    contact_id IN (SELECT id FROM contacts WHERE account_id = $1 AND (lower(name) LIKE $3 OR lower(email) LIKE $3
                   OR phone_number LIKE $3))
    OR id IN (SELECT conversation_id FROM messages WHERE account_id = $1 AND lower(content) LIKE $3))"""


async def _web_login(url: str, email: str) -> httpx.AsyncClient:
    """A client holding the browser's session cookie (pages do not take API tokens)."""
    client = httpx.AsyncClient(base_url=url, timeout=30)
    response = await client.post("/api/v1/auth/session", json={"email": email, "password": ADMIN["password"]})
    response.raise_for_status()
    return client


async def measure(context: Context, requests: int | None = None) -> list[Result]:
    size, name = (QUICK_CONVERSATIONS, "nexa_bench_toy") if context.quick else (CONVERSATIONS, "nexa_bench_inbox_10k")
    count = requests or (5 if context.quick else 100)
    dataset = await datagen.ensure(context.database_url, name, size, show_progress=not context.quick)
    account_id = dataset.account_id
    load = f"{dataset.conversations:,} conv / {dataset.messages:,} msg, account of {dataset.account_conversations:,}; 1 client"
    async with NexaServers(dataset.database.url) as servers:
        raw = await asyncpg.connect(dataset.database.dsn)
        browser = await _web_login(servers.url(), datagen.email(account_id - 1, "admin"))
        try:
            admin_id = await raw.fetchval("SELECT id FROM users WHERE email = $1", datagen.email(account_id - 1, "admin"))
            # A contact name of this account that the search box would be given (a few letters of it).
            term = ((await raw.fetchval("SELECT name FROM contacts WHERE account_id = $1 ORDER BY id LIMIT 1", account_id))
                    or "maria")[:4].lower()
            api = f"/api/v1/accounts/{account_id}/conversations"

            def get(path: str, params: dict[str, Any] | None = None) -> Callable[[], Awaitable[bool]]:
                async def call() -> bool:
                    return (await browser.get(path, params=params)).status_code == 200
                return call

            def sql(where: str, assignee: str = "", *extra: Any) -> Callable[[], Awaitable[None]]:
                async def reference() -> None:
                    await raw.fetchrow(_COUNTS.format(where=where), account_id, admin_id, *extra)
                    await raw.fetch(_PAGE.format(where=where, assignee=assignee), account_id, admin_id, *extra)
                return reference

            # $2 (the viewer) must appear in the page query for asyncpg to take it: a no-op comparison when unused.
            always = "AND $2::bigint IS NOT NULL"
            views = [
                ("inbox page HTML (no SQL of its own)", get(f"/app/accounts/{account_id}/conversations"), None),
                ("list: Mine, open (the page's first call)", get(api, {"assignee_type": "me", "status": "open"}),
                 sql("AND status = 'open'", "AND assignee_id = $2")),
                ("list: All, open", get(api, {"assignee_type": "all", "status": "open"}), sql("AND status = 'open'", always)),
                (f"list: All, search q={term!r}", get(api, {"assignee_type": "all", "status": "open", "q": term}),
                 sql(_SEARCH_WHERE, always, f"%{term}%")),
            ]
            rows = []
            for label, call, reference in views:
                ours, errors, elapsed = await _timed(call, count)
                p95 = percentile(ours, 0.95) * 1000
                fields: dict[str, Any] = {}
                if reference is not None:
                    theirs, _, _ = await _timed(reference, count)
                    raw_p95 = percentile(theirs, 0.95) * 1000
                    fields = {"reference": f"raw SQL p95 {raw_p95:.1f} ms", "ratio": p95 / raw_p95}
                rows.append(Result.from_seconds(
                    f"inbox page: {label}", load, ours, throughput=len(ours) / elapsed, errors=errors,
                    target=f"p95 < {TARGET_MS} ms", met=None if context.quick else p95 < TARGET_MS, **fields))
            return rows
        finally:
            await browser.aclose()
            await raw.close()


@scenario("inbox_page", "the inbox page and its list calls at 10,000 conversations, server time, vs the list's raw SQL")
async def inbox_page(context: Context) -> list[Result]:
    return await measure(context)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=None, help="sequential requests per row (default 100)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CONVERSATIONS} conversations instead of 10,000")
    options = parser.parse_args()
    print_table(await measure(Context(quick=options.quick), options.requests))


if __name__ == "__main__":
    asyncio.run(main())
