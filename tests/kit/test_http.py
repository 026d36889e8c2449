"""The outbound HTTP client: httpx's interface over aiohttp, against a real local server."""

from __future__ import annotations

import asyncio
import gzip
import json
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

    async def mirror(request: web.Request) -> web.Response:
        """The request as it came over the wire; gzip-encoded, and with the status asked for."""
        seen.append(request)
        headers = sorted((name.lower(), value) for name, value in request.headers.items())  # names: any case
        payload = {"method": request.method, "headers": headers, "body": (await request.read()).decode()}
        body = gzip.compress(json.dumps(payload).encode())
        return web.Response(
            body=body[:-8] + b"broken!!" if "broken" in request.query else body, status=int(request.query.get("status", 200)),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json", "Location": "/mirror"},
        )

    app = web.Application()
    app.add_routes([
        web.post("/echo", echo), web.get("/moved", moved), web.get("/big", big), web.get("/slow", slow),
        web.route("*", "/mirror", mirror),
    ])
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


@pytest.mark.parametrize("call", [
    {"json": {"texto": "olá", "n": 1.5}},
    {"content": b"raw \x00 bytes", "headers": {"Content-Type": "application/octet-stream", "X-Hub-Signature-256": "sha256=ab"}},
    {"content": "texto", "headers": httpx.Headers({"authorization": "Bearer t", "User-Agent": "nexa-test"})},
    {"content": b"?", "headers": [("X-Two", "1"), ("X-Two", "2")]},
    {"headers": {b"X-Bytes": b"1"}},  # httpx takes bytes too: this call goes its way both times
    {},
])
async def test_a_plain_call_sends_and_answers_what_httpx_own_way_does(
    server: tuple[str, list[web.Request]], call: dict[str, object]
) -> None:
    """`request` takes a direct way to aiohttp for plain calls; an option that is not None (here an empty
    `extensions`) makes it take httpx's. Both must put the same request on the wire and give back the same
    response: decoded body, headers, request, redirect target and errors."""
    url, _ = server
    async with http.client(timeout=5, headers={"X-Client": "nexa"}) as client:
        direct = await client.request("POST", f"{url}/mirror?status=302", **call)  # type: ignore[arg-type]
        through_httpx = await client.request("POST", f"{url}/mirror?status=302", extensions={}, **call)  # type: ignore[arg-type]
    bytes_headers = call.get("headers") == {b"X-Bytes": b"1"}
    assert (type(direct) is type(through_httpx)) == bytes_headers  # each took its own way, unless httpx's had to
    assert direct.json() == through_httpx.json()
    assert direct.json()["method"] == "POST" and ["x-client", "nexa"] in direct.json()["headers"]
    assert direct.status_code == through_httpx.status_code == 302 and direct.reason_phrase == "Found"
    assert direct.headers.multi_items() == through_httpx.headers.multi_items()
    assert direct.request.method == through_httpx.request.method and direct.request.url == through_httpx.request.url
    assert sorted(direct.request.headers.multi_items()) == sorted(through_httpx.request.headers.multi_items())
    assert direct.request.content == through_httpx.request.content
    assert direct.url == through_httpx.url and direct.elapsed.total_seconds() > 0
    assert direct.next_request is not None and through_httpx.next_request is not None
    assert direct.next_request.url == through_httpx.next_request.url
    with pytest.raises(httpx.HTTPStatusError) as refused:
        direct.raise_for_status()
    assert refused.value.request.url == through_httpx.request.url


async def test_a_redirect_the_client_follows_goes_on_httpx_way(server: tuple[str, list[web.Request]]) -> None:
    """As the process's shared client does (`Runtime.http` follows redirects): the first hop goes the direct
    way, the rest httpx's, with the same history, final answer and redirect limit."""
    url, _ = server
    async with http.client(timeout=5, follow_redirects=True) as client:
        direct = await client.post(f"{url}/mirror?status=307", json={"n": 1})
        through_httpx = await client.post(f"{url}/mirror?status=307", json={"n": 1}, extensions={})
        not_followed = await client.post(f"{url}/mirror?status=307", json={"n": 1}, follow_redirects=False)
    assert type(direct.history[0]) is not type(through_httpx.history[0])  # each took its own way first
    assert [r.status_code for r in direct.history] == [r.status_code for r in through_httpx.history] == [307]
    assert direct.status_code == through_httpx.status_code == 200 and direct.url == f"{url}/mirror"
    assert direct.json() == through_httpx.json() and direct.json()["body"] == '{"n":1}'  # 307 keeps the body
    assert not_followed.status_code == 307 and type(not_followed) is type(direct.history[0])
    assert not_followed.next_request is not None and not_followed.next_request.url == f"{url}/mirror"
    async with http.client(timeout=5, follow_redirects=True, max_redirects=0) as client:
        for options in ({}, {"extensions": {}}):
            with pytest.raises(httpx.TooManyRedirects):
                await client.post(f"{url}/mirror?status=307", json={"n": 1}, **options)  # type: ignore[arg-type]


async def test_a_body_that_cannot_be_decoded_fails_alike_both_ways(server: tuple[str, list[web.Request]]) -> None:
    url, _ = server
    async with http.client(timeout=5) as client:
        for options in ({}, {"extensions": {}}):
            with pytest.raises(httpx.DecodingError) as failed:
                await client.get(f"{url}/mirror?broken=1", **options)  # type: ignore[arg-type]
            assert failed.value.request.url == f"{url}/mirror?broken=1"


async def test_calls_httpx_must_build_take_its_way(server: tuple[str, list[web.Request]]) -> None:
    url, seen = server
    async with http.client(timeout=5, base_url=url) as client:
        relative = await client.get("/mirror", params={"status": 201})
    async with http.client(timeout=5, auth=("user", "secret")) as client:
        authorized = await client.post(f"{url}/mirror")
    assert relative.status_code == 201 and relative.request.url == f"{url}/mirror?status=201"
    assert authorized.request.headers["Authorization"].startswith("Basic ")
    assert seen[-1].headers["Authorization"] == authorized.request.headers["Authorization"]
