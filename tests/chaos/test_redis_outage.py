"""Redis goes away under a scale-out deployment (`nexa serve --no-worker` + `nexa worker`, events crossing
between them over Redis pub/sub). A TCP proxy plays the outage, so the machine's shared Redis is never
stopped. While Redis is gone realtime degrades and nothing else does: webhooks are accepted and processed,
logins work (the rate limiter lets them through), the agent's socket stays up. Once Redis is back, events
published in the worker reach the agent's socket in the API process again, and nothing acknowledged was
lost or stored twice."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from nexa.db.engine import Database
from nexa.devtools.fake_graph import FakeGraph
from nexa.realtime.events import EventName
from nexa.realtime.ws import CloseCode
from tests.chaos.helpers import (
    assert_stored_exactly_once, customer_messages, post_all, retry_until_acked, whatsapp_inbox,
)
from tests.fixtures.nexa_process import ADMIN, NexaProcess
from tests.fixtures.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


async def _message_event(websocket: ClientConnection, content: str, timeout: float) -> bool:
    """Whether a message.created event for `content` arrives on the socket within `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(websocket.recv(), left))
        except TimeoutError:
            return False
        if frame.get("event") == EventName.MESSAGE_CREATED and frame["data"].get("content") == content:
            return True
    return False


async def test_redis_down_degrades_realtime_only_and_events_cross_processes_again_once_back(
    backend: str, redis_url: str, own_database_url: str, tmp_path: Path, fake_graph: FakeGraph
) -> None:
    if backend != "sqlite":
        pytest.skip("Redis behaves the same whatever the database; one backend keeps the suite short")
    upstream = Redis.from_url(redis_url).connection_pool.connection_kwargs
    async with TcpProxy(upstream.get("host", "127.0.0.1"), upstream.get("port", 6379)) as proxy:
        nexa = NexaProcess(own_database_url, tmp_path)  # API and sockets only
        nexa.env["NEXA_REDIS_URL"] = f"redis://127.0.0.1:{proxy.port}/{upstream.get('db', 0)}"
        nexa.env["NEXA_REALTIME_PREFIX"] = f"nexa:chaos:{uuid.uuid4().hex[:8]}:"  # alone on the shared Redis
        worker = None
        database = Database(own_database_url)
        try:
            await nexa.start()
            worker = subprocess.Popen([sys.executable, "-m", "nexa.cli.main", "worker"], env=nexa.env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            account_url, callback = await whatsapp_inbox(nexa, fake_graph)
            account_id = account_url.rsplit("/", 1)[1]
            token = (await nexa.admin_headers())["Authorization"].removeprefix("Bearer ")
            bodies = customer_messages(fake_graph, "RT", 30, customers=5)
            wamids = sorted(bodies)
            content = {wamid: bodies[wamid]["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"]
                       for wamid in wamids}
            ws_url = nexa.url.replace("http://", "ws://", 1) + f"/ws?account_id={account_id}&token={token}"

            async with connect(ws_url) as agent:
                # Up: a message the worker stores reaches the agent's socket in the API process.
                await retry_until_acked(fake_graph, callback, bodies, wamids[:1])
                assert await _message_event(agent, content[wamids[0]], timeout=20)

                await proxy.cut()
                answers = await post_all(fake_graph, callback, bodies, wamids[1:20])
                assert all(a is not None and a.status_code == 200 for a in answers.values()), answers
                async with httpx.AsyncClient(base_url=nexa.url, timeout=10) as client:
                    assert (await client.post("/api/v1/auth/login", json=ADMIN)).status_code == 200
                    assert (await client.get("/health")).status_code == 200
                # Processed too, by the worker, while its events go nowhere.
                await assert_stored_exactly_once(database, set(wamids[:20]), timeout=30)

                await proxy.restore()
                # Back: once its subscription is restored (backoff of a few seconds at most) the API
                # process tells the socket that events may have been missed, so the client refetches.
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(_message_event(agent, "never sent", timeout=20), 25)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.RESYNC

            async with connect(ws_url) as agent:
                # And events published in the worker reach the API process again.
                await retry_until_acked(fake_graph, callback, bodies, wamids[20:21])
                assert await _message_event(agent, content[wamids[20]], timeout=20)

            await retry_until_acked(fake_graph, callback, bodies, wamids)
            await assert_stored_exactly_once(database, set(wamids), timeout=30)
            assert worker.poll() is None, "the worker died"
        finally:
            if worker is not None:
                worker.terminate()
                await asyncio.to_thread(worker.wait, 15)
            await asyncio.to_thread(nexa.stop)
            await database.dispose()
