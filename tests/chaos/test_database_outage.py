"""PostgreSQL restarts under a running `nexa serve` (with its worker). To the app a restart is every
connection reset and new ones refused for a while; a TCP proxy plays that, so the machine's shared
PostgreSQL is never touched. While the database is gone Nexa answers 503 with a JSON body (not a 500,
and never a 200 for something it could not store), recovers by itself once it is back, and nothing it
acknowledged is lost or stored twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from websockets.asyncio.client import connect

from nexa.app import create_app
from nexa.auth.tokens import new_api_token
from nexa.config import Settings
from nexa.db.engine import Database, database_unreachable
from nexa.realtime.ws import CloseCode
from nexa.runtime import Runtime
from nexa.devtools.fake_graph import FakeGraph
from tests.chaos.helpers import (
    acked, assert_stored_exactly_once, customer_messages, post_all, retry_until_acked, whatsapp_inbox,
)
from tests.fixtures.nexa_process import NexaProcess, free_port
from tests.fixtures.tcp_proxy import TcpProxy
from tests.realtime._server import close_code, serve


OUTAGE_SECONDS = 2.0


@pytest.mark.parametrize("path", ["/webhooks/whatsapp/any-inbox", "/api/v1/auth/login"])
async def test_a_database_that_refuses_connections_is_a_503_with_a_json_body(tmp_path: Path, path: str) -> None:
    # No server needed: a PostgreSQL URL on a port nobody listens on is a database that is down.
    settings = Settings(env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
                        database_url=f"postgresql+asyncpg://nexa@127.0.0.1:{free_port()}/nexa")
    runtime = Runtime.build(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(path, json={"email": "owner@example.com", "password": "a password"})
        assert response.status_code == 503, response.text
        assert response.json() == {"error": "The database is unavailable, please retry"}
    finally:
        await runtime.close()


async def test_a_socket_opened_while_the_database_is_down_is_told_to_try_again_later(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
                        database_url=f"postgresql+asyncpg://nexa@127.0.0.1:{free_port()}/nexa")
    runtime = Runtime.build(settings)
    async with serve(runtime) as server:
        token = new_api_token().plaintext  # well formed, so checking it needs the database
        async with connect(f"{server.ws}/ws?account_id=1&token={token}") as websocket:
            assert await close_code(websocket) == CloseCode.TRY_AGAIN_LATER


async def test_database_errors_that_are_not_an_outage_keep_their_meaning() -> None:
    assert not database_unreachable(ValueError("bad input"))
    assert not database_unreachable(TimeoutError())  # asyncio timeouts inside a transaction are the caller's
    assert not database_unreachable(DBAPIError("SELECT 1", {}, Exception("syntax error"), connection_invalidated=False))
    assert database_unreachable(DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True))
    assert database_unreachable(ConnectionRefusedError())


@pytest.mark.slow
@pytest.mark.postgres_only
async def test_a_postgres_restart_answers_503_then_recovers_without_losing_acked_messages(
    backend: str, own_database_url: str, tmp_path: Path, fake_graph: FakeGraph
) -> None:
    if backend != "postgres":
        pytest.skip("a PostgreSQL restart; SQLite has no server to lose")
    real = make_url(own_database_url)
    async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        nexa = NexaProcess(proxied, tmp_path, worker=True)
        database = Database(own_database_url)
        try:
            await nexa.start()
            account_url, callback = await whatsapp_inbox(nexa, fake_graph)
            headers = await nexa.admin_headers()
            before = customer_messages(fake_graph, "BEFORE", 40)
            during = customer_messages(fake_graph, "DURING", 10)
            after = customer_messages(fake_graph, "AFTER", 20)
            bodies = {**before, **during, **after}

            # Load in flight when the database goes away: some of it is acknowledged, some is not.
            load = asyncio.create_task(post_all(fake_graph, callback, bodies, before))
            await asyncio.sleep(0.1)
            await proxy.cut()
            answers_before = await load

            answers = await post_all(fake_graph, callback, bodies, during)
            async with httpx.AsyncClient(timeout=10) as client:
                inbox_list = await client.get(f"{account_url}/conversations", headers=headers)
            for answer in [*answers.values(), inbox_list]:
                assert answer is not None and answer.status_code == 503, answer and answer.text
                assert "error" in answer.json()
            for answer in answers_before.values():
                assert answer is not None and answer.status_code in (200, 503), answer and answer.text

            await asyncio.sleep(OUTAGE_SECONDS)
            await proxy.restore()

            # Nexa reconnects by itself: Meta's retries of everything not acknowledged (and, as Meta does,
            # of a few that were) go through, and so do new messages.
            retried = (set(before) - acked(answers_before)) | set(sorted(acked(answers_before))[:10])
            await retry_until_acked(fake_graph, callback, bodies, [*retried, *during, *after], timeout=20)
            async with httpx.AsyncClient(timeout=10) as client:
                assert (await client.get(f"{account_url}/conversations", headers=headers)).status_code == 200

            await assert_stored_exactly_once(database, set(bodies), timeout=30)
        finally:
            # Off the event loop: the proxy it may still be talking to runs on it.
            await asyncio.to_thread(nexa.stop)
            await database.dispose()
