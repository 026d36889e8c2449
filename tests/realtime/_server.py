"""A real Nexa server (uvicorn, lifespan on, so the hub runs) on a free local port, and socket helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from nexa.app import create_app
from nexa.realtime import Event, EventName, publish_now
from nexa.runtime import Runtime

TIMEOUT = 5.0


@dataclass
class Server:
    http: str
    ws: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serve(runtime: Runtime) -> AsyncIterator[Server]:
    port = _free_port()
    config = uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(TIMEOUT):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        yield Server(http=f"http://127.0.0.1:{port}", ws=f"ws://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def next_frame(websocket: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(websocket.recv(), timeout))


async def close_code(websocket: ClientConnection, timeout: float = TIMEOUT) -> int | None:
    """Read until the server closes the socket; its close code."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await websocket.recv()
    return websocket.close_code


async def events_until_marker(websocket: ClientConnection, channel: str) -> list[dict[str, Any]]:
    """The events this socket got before a marker published now on `channel` (one of its channels):
    "this and nothing else" without sleeping. Presence broadcasts are left out: they are timing-dependent."""
    marker = Event(EventName.ACCOUNT_CACHE_INVALIDATED, {"marker": True}, account_id=0, channels=[channel])
    await publish_now(marker)
    events = []
    while not (frame := await next_frame(websocket))["data"].get("marker"):
        if frame["event"] != EventName.PRESENCE_UPDATE:
            events.append(frame)
    return events


async def api(client: httpx.AsyncClient, method: str, path: str, token: str, **body: Any) -> Any:
    response = await client.request(method, path, json=body or None, headers={"api_access_token": token})
    assert response.status_code == 200, response.text
    return response.json()
