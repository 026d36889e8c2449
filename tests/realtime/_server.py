"""A real Nexa server (uvicorn, lifespan on, so the hub runs) on a free local port, and socket helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from nexa.app import create_app
from nexa.devtools.servers import serve as serve_app
from nexa.realtime import Event, EventName, publish_now
from nexa.runtime import Runtime

TIMEOUT = 5.0


@dataclass
class Server:
    http: str
    ws: str


@contextlib.asynccontextmanager
async def serve(runtime: Runtime) -> AsyncIterator[Server]:
    """Nexa itself, lifespan on so the realtime hub runs."""
    async with serve_app(create_app(runtime=runtime), lifespan=True) as running:
        yield Server(http=running.url, ws=running.url.replace("http://", "ws://", 1))


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
