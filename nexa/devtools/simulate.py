"""`nexa dev simulate`: chat as a WhatsApp customer with a local Nexa, no Meta account needed.

A fake Graph API runs inside this command. A WhatsApp inbox of the account is pointed at it (created the
first time, re-pointed on later runs), every line typed here is posted to Nexa as a signed customer
webhook, and whatever Nexa sends that customer (agent or bot replies) is printed, with delivery and read
receipts played back so agents see the ticks.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from nexa.devtools.fake_graph import FakeGraph, SentRecord

SIMULATOR_INBOX = "WhatsApp simulator"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Login:
    email: str | None = None
    password: str | None = None
    token: str | None = None


async def _headers(client: httpx.AsyncClient, login: Login) -> dict[str, str]:
    if login.token:
        return {"api_access_token": login.token}
    response = await client.post("/api/v1/auth/login", json={"email": login.email, "password": login.password})
    if response.status_code != 200:
        raise SimulationError(f"Could not sign in as {login.email}: {response.json().get('error', response.text)}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class SimulationError(Exception):
    """Something the person running the simulator must fix; the message says what."""


async def connect_inbox(client: httpx.AsyncClient, headers: dict[str, str], fake: FakeGraph, account_id: int | None) -> str:
    """The simulator inbox's callback URL, after pointing the inbox at this run's fake Graph API."""
    profile = (await client.get("/api/v1/profile", headers=headers)).json()
    account = account_id or profile.get("account_id")
    if account is None:
        raise SimulationError("This user belongs to no account")
    base = f"/api/v1/accounts/{account}/inboxes"
    inboxes = (await client.get(base, headers=headers)).json().get("payload", [])
    existing = next((i for i in inboxes if i["name"] == SIMULATOR_INBOX and i["provider"] == "whatsapp_cloud"), None)
    channel = {"type": "whatsapp", "phone_number": f"+{fake.display_phone_number}", "provider": "whatsapp_cloud",
               "provider_config": fake.provider_config()}
    if existing is None:
        response = await client.post(base, json={"name": SIMULATOR_INBOX, "channel": channel}, headers=headers)
    else:
        response = await client.patch(f"{base}/{existing['id']}", json={"channel": channel}, headers=headers)
    if response.status_code != 200:
        raise SimulationError(f"Could not set up the simulator inbox: {response.text}")
    return response.json()["callback_webhook_url"]


def describe(record: SentRecord) -> str:
    """What the customer would see on their phone, in one line."""
    body = record.body
    kind = body.get("type")
    if kind == "text":
        return body["text"]["body"]
    if kind == "interactive":
        interactive = body["interactive"]
        options = [b["reply"]["title"] for b in interactive.get("action", {}).get("buttons", [])] or [
            row["title"] for section in interactive.get("action", {}).get("sections", []) for row in section["rows"]
        ]
        return f"{interactive['body']['text']}  [{' | '.join(options)}]"
    if kind == "template":
        return f"(template {body['template']['name']})"
    part: dict[str, Any] = body.get(kind, {})
    return f"({kind}) {part.get('caption') or part.get('link') or ''}".strip()


async def _print_replies(fake: FakeGraph, business: str, out: TextIO, stop: asyncio.Event) -> None:
    shown = 0
    while not stop.is_set():
        for record in fake.sent[shown:]:
            print(f"{business}: {describe(record)}", file=out, flush=True)
        shown = len(fake.sent)
        await asyncio.sleep(POLL_SECONDS)


async def simulate(
    url: str,
    login: Login,
    *,
    phone: str,
    name: str,
    account_id: int | None = None,
    read_line: Callable[[], str] = sys.stdin.readline,
    out: TextIO = sys.stdout,
) -> int:
    """Run until the customer's input ends; the number of messages sent."""
    sent = 0
    async with FakeGraph().running() as fake, httpx.AsyncClient(base_url=url, timeout=15) as client:
        try:
            headers = await _headers(client, login)
            callback = await connect_inbox(client, headers, fake, account_id)
        except httpx.TransportError as exc:
            raise SimulationError(f"Nexa does not answer at {url}: start it with `make run`") from exc
        fake.send_receipts_to(client, callback, ("sent", "delivered", "read"))
        print(f"You are {name} (+{phone}) writing to the inbox '{SIMULATOR_INBOX}'. Type and press Enter; "
              "replies appear here. Ctrl-D ends.", file=out, flush=True)
        stop = asyncio.Event()
        printer = asyncio.create_task(_print_replies(fake, "Business", out, stop))
        try:
            while line := await asyncio.to_thread(read_line):
                if not line.strip():
                    continue
                response = await fake.customer_says(client, callback, line.strip(), from_=phone, name=name)
                if response.status_code != 200:
                    print(f"(Nexa refused the message: {response.status_code} {response.text})", file=out, flush=True)
                    continue
                sent += 1
            await asyncio.sleep(POLL_SECONDS * 2)  # replies already on their way still get printed
        finally:
            stop.set()
            await printer
            await fake.settle()
    return sent
