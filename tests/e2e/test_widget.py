"""A customer chats from the web widget embedded on a shop's site; an agent answers through the API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from nexa.jobs.models import Job
from nexa.runtime import Runtime
from tests.factories import make_member
from nexa.devtools.servers import serve
from tests.realtime._server import serve as serve_nexa

XSS = '<img src=x onerror="window.__pwned=1">'


async def eventually_triggered(runtime: Runtime, account_id: int) -> dict[str, Any]:
    """The webhooks fan-out job of the account's webwidget_triggered (no worker runs here to send it)."""
    deadline = time.monotonic() + 10
    while True:
        async with runtime.db.session(write=False) as session:
            jobs = (await session.scalars(select(Job).where(Job.kind == "webhooks.fanout", Job.account_id == account_id))).all()
        found = [job.args for job in jobs if job.args.get("event") == "webwidget_triggered"]
        if found:
            return found[0]
        assert time.monotonic() < deadline, "no webwidget_triggered was recorded"
        await asyncio.sleep(0.05)


def shop_site(nexa_url: str, website_token: str) -> Starlette:
    """The customer's own website, on another origin, with the one-line embed."""
    page = f"""<!doctype html><html><body><h1>Loja da Ana</h1>
    <script src="{nexa_url}/widget/sdk.js" data-website-token="{website_token}" async></script></body></html>"""
    return Starlette(routes=[Route("/", lambda request: HTMLResponse(page))])


async def test_customer_chats_from_the_widget_and_sees_the_agent_reply_live(page, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    async with serve_nexa(runtime) as nexa, httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api:
        account = f"/api/v1/accounts/{admin.account.id}"
        await api.post(f"{account}/webhooks", json={"url": "https://hooks.example.com/crm", "subscriptions": ["webwidget_triggered"]})
        inbox = (await api.post(f"{account}/inboxes", json={
            "name": "Loja da Ana", "channel_type": "web_widget", "greeting_enabled": True,
            "greeting_message": "Oi! Em que posso ajudar?", "channel_config": {"widget_color": "#aa3300"},
        })).json()
        async with serve(shop_site(nexa.http, inbox["inbox_identifier"])) as shop:
            await page.goto(shop.url)
            await page.click("[data-nexa=bubble]")
            chat = page.frame_locator("[data-nexa=frame]")
            await chat.locator(".msg__body", has_text="Oi! Em que posso ajudar?").wait_for()
            # The brand color reached the launcher across origins (CORS), and no pre-chat form was asked for.
            color = "b => getComputedStyle(b).backgroundColor"
            await page.wait_for_function(f"({color})(document.querySelector('[data-nexa=bubble]')) === 'rgb(170, 51, 0)'")
            assert not await chat.locator(".widget__prechat").is_visible()
            # Opening the chat recorded webwidget_triggered for the account's webhook, with the shop's page.
            triggered = await eventually_triggered(runtime, admin.account.id)
            assert triggered["data"]["event_info"]["referer"].rstrip("/") == shop.url.rstrip("/")
            await chat.locator("textarea").fill("Vocês entregam em Campinas?")
            await chat.locator("textarea").press("Enter")
            await chat.locator(".msg--in:not(.msg--pending)", has_text="Campinas").wait_for()

            conversations = (await api.get(f"{account}/conversations", params={"status": "all", "assignee_type": "all"})).json()
            conversation = conversations["data"]["payload"][0]
            messages_url = f"{account}/conversations/{conversation['id']}/messages"
            assert [m["content"] for m in (await api.get(messages_url)).json()["payload"]] == [
                "Vocês entregam em Campinas?"
            ]

            await api.post(messages_url, json={"content": "Entregamos sim!"})
            await api.post(messages_url, json={"content": "nota interna: cliente VIP", "private": True})
            await api.post(messages_url, json={"content": XSS})
            await chat.locator(".msg--out .msg__body", has_text="Entregamos sim!").wait_for()
            await chat.locator(".msg--out .msg__body", has_text="onerror").wait_for()
            assert await page.evaluate("window.__pwned") is None
            frame_text = await chat.locator(".widget__messages").inner_text()
            assert "nota interna" not in frame_text

            # The conversation survives a reload: same visitor, same history.
            await page.reload()
            await page.click("[data-nexa=bubble]")
            await chat.locator(".msg__body", has_text="Entregamos sim!").wait_for()
            await chat.locator(".msg__body", has_text="Campinas").wait_for()
            after = (await api.get(f"{account}/conversations", params={"status": "all", "assignee_type": "all"})).json()
            assert len(after["data"]["payload"]) == 1
