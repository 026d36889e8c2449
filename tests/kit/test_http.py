"""The outbound HTTP client: httpx's interface over aiohttp, against a real local server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from nexa.kit import http


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    seen: list[web.Request] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(request)
        payload = await request.json()
        response = web.json_response({"got": payload, "auth": request.headers.get("Authorization")})
        response.set_cookie("session", "tenant-a")
        return response

    async def moved(request: web.Request) -> web.Response:
        seen.append(request)
        raise web.HTTPFound("/big")

    async def big(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"x" * 100_000)  # chunked transfer encoding
        return response

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    app = web.Application()
    app.add_routes([web.post("/echo", echo), web.get("/moved", moved), web.get("/big", big), web.get("/slow", slow)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_a_json_post_and_its_answer_round_trip_with_httpx_objects(server: tuple[str, list[web.Request]]) -> None:
    url, seen = server
    async with http.client(timeout=5) as client:
        answer = await client.post(f"{url}/echo", json={"texto": "olá"}, headers={"Authorization": "Bearer t"})
        again = await client.post(f"{url}/echo", json={"n": 2})
    assert isinstance(answer, httpx.Response) and answer.status_code == 200 and answer.reason_phrase == "OK"
    assert answer.json() == {"got": {"texto": "olá"}, "auth": "Bearer t"}
    assert seen[0].headers["Content-Type"] == "application/json"
    assert "session" not in seen[1].cookies  # the client is shared by tenants: it keeps no cookies
    assert again.json() == {"got": {"n": 2}, "auth": None}


async def test_redirects_are_followed_and_a_body_can_be_streamed(server: tuple[str, list[web.Request]]) -> None:
    url, seen = server
    async with http.client(timeout=5, follow_redirects=True) as client, client.stream("GET", f"{url}/moved") as response:
        pieces = [piece async for piece in response.aiter_bytes()]
    assert response.status_code == 200 and [request.path for request in seen] == ["/moved", "/big"]
    assert sum(map(len, pieces)) == 400_000 and len(pieces) > 1


async def test_network_failures_are_httpx_transport_errors(server: tuple[str, list[web.Request]]) -> None:
    url, _ = server
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with http.client(timeout=httpx.Timeout(5, read=0.2)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{closed_port}/")
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/slow")
        # The client still works after both.
        assert (await client.post(f"{url}/echo", json={})).status_code == 200
