"""Web widget visitors online now: a widget socket (and its pings) keeps a visitor among the account's
active contacts (`GET /contacts/active`, Chatwoot's shape) for the presence TTL (the stores' expiry is
tested in test_presence.py)."""

from __future__ import annotations

import json

import httpx
from websockets.asyncio.client import connect

from nexa.runtime import Runtime
from tests.factories import make_member
from tests.realtime._server import next_frame, serve


async def test_widget_visitors_on_a_socket_are_the_accounts_active_contacts(live_runtime: Runtime) -> None:
    admin = await make_member(live_runtime)
    stranger = await make_member(live_runtime)
    async with serve(live_runtime) as server, httpx.AsyncClient(base_url=server.http) as client:
        account = f"/api/v1/accounts/{admin.account.id}"
        inbox = (await client.post(f"{account}/inboxes", json={"name": "Site", "channel_type": "web_widget"},
                                   headers=admin.headers)).json()
        public = f"/public/api/v1/inboxes/{inbox['inbox_identifier']}/contacts"
        online = (await client.post(public, json={"name": "Ana"})).json()
        await client.post(public, json={"name": "Bia"})  # a visitor with no socket open

        async def active(member_account: str, headers: dict[str, str]) -> dict:
            response = await client.get(f"{member_account}/contacts/active", headers=headers)
            assert response.status_code == 200, response.text
            return response.json()

        assert (await active(account, admin.headers)) == {"meta": {"count": 0, "current_page": "1"}, "payload": []}
        async with connect(f"{server.ws}/ws/widget?pubsub_token={online['pubsub_token']}") as socket:
            # The widget's heartbeat (every 10 s, in widget.js); its answer also says the socket is set up.
            await socket.send(json.dumps({"type": "ping"}))
            assert await next_frame(socket) == {"type": "pong"}
            listed = await active(account, admin.headers)
            assert listed["meta"]["count"] == 1 and [c["name"] for c in listed["payload"]] == ["Ana"]
            assert listed["payload"][0]["id"] == online["id"]
            # Another account sees none of them.
            assert (await active(f"/api/v1/accounts/{stranger.account.id}", stranger.headers))["payload"] == []
