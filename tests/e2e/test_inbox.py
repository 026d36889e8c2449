"""The agent inbox in Debian's Chromium against a real Nexa server, a real job worker and the fake Graph API.

An agent signs in, a WhatsApp customer writes (signed webhook), the conversation appears live, the agent
answers with a canned response, the fake provider receives it, the tick turns delivered (status webhooks),
the agent adds a private note and resolves. Then: the 24-hour window switch to templates, in Portuguese,
on a phone-sized screen. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from nexa.config import Settings
from nexa.conversations.models import Message, MessageType
from nexa.devtools.fake_graph import FakeGraph, message_template
from nexa.jobs.worker import Worker
from nexa.kit.clock import utcnow
from nexa.runtime import Runtime
from tests.factories import PASSWORD, Member, make_member
from tests.realtime._server import serve as serve_nexa

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
XSS = "<img src=x onerror=alert(1)> Oi, quero comprar"
TIMEOUT_MS = 10_000
# A page load (the app's first one fetches its whole bundle) took over 10 s once on a loaded two-core
# machine; a wait for the page's own behaviour keeps the shorter timeout above.
NAVIGATION_TIMEOUT_MS = 30_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Few login attempts so the rate-limit message is reached in a couple of tries.
    return Settings(env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
                    worker_poll_interval=0.05, login_max_attempts=3)


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[Worker]:
    running = Worker(runtime.db, runtime.settings)
    await running.start()
    yield running
    await running.stop(timeout=5)


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph().running() as fake:
        yield fake


async def eventually(check: Callable[[], Awaitable[Any] | Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def whatsapp_inbox(api: httpx.AsyncClient, member: Member, fake: FakeGraph) -> dict[str, Any]:
    response = await api.post(f"/api/v1/accounts/{member.account.id}/inboxes", json={
        "name": "Vendas", "channel": {"type": "whatsapp", "phone_number": "+15550783881", "provider": "whatsapp_cloud",
                                      "provider_config": fake.provider_config()},
    })
    assert response.status_code == 200, response.text
    return response.json()


async def sign_in(page: Any, url: str, member: Member) -> None:
    await page.goto(f"{url}/app")
    await page.fill('input[name="email"]', member.user.email)
    await page.fill('input[name="password"]', PASSWORD)
    await page.press('input[name="password"]', "Enter")
    await page.wait_for_url(f"**/app/accounts/{member.account.id}/conversations")


async def new_page(browser: Any, **options: Any) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(**options)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


async def test_agent_answers_a_whatsapp_customer_live(browser: Any, runtime: Runtime, worker: Worker, fake_graph: FakeGraph) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin = await make_member(runtime)
    async with serve_nexa(runtime) as nexa, httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api:
        account = f"/api/v1/accounts/{admin.account.id}"
        inbox = await whatsapp_inbox(api, admin, fake_graph)
        callback = httpx.URL(inbox["callback_webhook_url"]).path
        await api.post(f"{account}/canned_responses", json={"short_code": "preco", "content": "Nosso plano custa R$ 99 por mês."})
        fake_graph.send_receipts_to(api, callback, statuses=("sent", "delivered"))

        context, page, errors = await new_page(browser, locale="en-US")
        try:
            await page.goto(f"{nexa.http}/app/login")
            await page.fill('input[name="email"]', admin.user.email)
            await page.fill('input[name="password"]', "wrong password")
            await page.press('input[name="password"]', "Enter")
            await page.locator(".form__error", has_text="Wrong email or password").wait_for()
            await page.screenshot(path=SCREENSHOTS / "login-error.png")
            await sign_in(page, nexa.http, admin)
            await page.click('[data-tab="unassigned"]')

            # The customer writes on WhatsApp: the conversation shows up without a reload.
            assert (await fake_graph.customer_says(api, callback, XSS, name="Maria")).status_code == 200
            item = page.locator(".item", has_text="Maria")
            await item.wait_for()
            await page.locator('[data-count="unassigned_count"]', has_text="1").wait_for()
            await item.locator(".chip", has_text="Queue #1").wait_for()  # the server's queue_position
            await item.locator(".item__main").click()
            # The reply window (the server's reply_window_closes_at) is open: its time left shows.
            await page.locator(".composer__window", has_text="Reply window closes in").wait_for()
            customer_message = page.locator(".msg--in .msg__body", has_text="onerror")
            await customer_message.wait_for()
            assert await customer_message.inner_text() == XSS  # shown as text, not markup
            assert await page.locator(".msg--in img").count() == 0
            await page.screenshot(path=SCREENSHOTS / "inbox-conversation.png", full_page=True)

            # A canned response on "/", sent with Enter.
            composer = page.locator(".composer textarea")
            await composer.fill("")
            await composer.type("/pre")
            await page.locator('.popup [data-short-code="preco"]').wait_for()
            await composer.press("Enter")
            assert await composer.input_value() == "Nosso plano custa R$ 99 por mês."
            await composer.press("Enter")
            await eventually(lambda: [s for s in fake_graph.sent if s.text == "Nosso plano custa R$ 99 por mês."])
            messages_url = f"{account}/conversations/1/messages"

            async def delivered() -> bool:
                payload = (await api.get(messages_url)).json()["payload"]
                return any(m["status"] == "delivered" for m in payload if m["message_type"] == 1)

            await eventually(delivered, timeout=20)  # the status webhooks went through the pipeline
            await page.locator('.msg--out .tick[data-status="delivered"]').wait_for()

            # A private note, then resolve.
            await page.click("text=Private note")
            await composer.fill("Cliente quer o plano anual")
            await composer.press("Enter")
            await page.locator(".msg--note .msg__body", has_text="plano anual").wait_for()
            # A colleague mentions the agent in a note: the server's notification reaches the bell live.
            colleague = await make_member(runtime, admin.account)
            mention = f"[@{admin.user.name}](mention://user/{admin.user.id}/{admin.user.name}) ok"
            await api.post(messages_url, json={"content": mention, "private": True}, headers=colleague.headers)
            await page.locator("[data-notifications] [data-unread]", has_text="1").wait_for()
            await page.keyboard.press("Alt+r")  # the resolve shortcut
            await page.locator('[data-action="reopen"]').wait_for()
            # The server's activity line arrives live, in the account's language (pt-BR) whatever the UI's.
            await page.locator(".msg--activity", has_text="Conversa marcada como resolvida por").wait_for()
            # The list follows: a resolved conversation leaves the open queue, the count too.
            await item.wait_for(state="detached")
            await page.locator('[data-count="unassigned_count"]', has_text="0").wait_for()
            await page.screenshot(path=SCREENSHOTS / "inbox-resolved.png", full_page=True)

            conversation = (await api.get(f"{account}/conversations", params={"status": "all", "assignee_type": "all"})).json()["data"]["payload"][0]
            assert conversation["status"] == "resolved"
            assert len([s for s in fake_graph.sent if s.text]) == 1  # the note never reached the customer
            # Availability from the top bar is stored for this account.
            await page.select_option("#availability", "online")
            await page.locator('.availability__dot[data-availability="online"]').wait_for()
            agents = (await api.get(f"{account}/agents")).json()
            assert [a["availability_status"] for a in agents if a["id"] == admin.user.id] == ["online"]
            assert errors == []

            # Logging out ends the session; too many failed logins get a clear wait message.
            await page.click('[data-action="logout"]')
            await page.wait_for_url("**/app/login")
            await page.goto(f"{nexa.http}/app/accounts/{admin.account.id}/conversations")
            await page.wait_for_url(re.compile(r"/app/login\?next=/app/accounts/"))
            for _ in range(3):
                await page.fill('input[name="email"]', admin.user.email)
                await page.fill('input[name="password"]', "still wrong")
                await page.press('input[name="password"]', "Enter")
                await page.locator(".form__error:visible").wait_for()
            await page.locator(".form__error", has_text="Too many sign-in attempts. Try again in").wait_for()
            await page.screenshot(path=SCREENSHOTS / "login-rate-limited.png")
        finally:
            await context.close()


async def test_closed_window_switches_to_templates_in_portuguese_on_a_phone(
    browser: Any, runtime: Runtime, worker: Worker, fake_graph: FakeGraph
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin = await make_member(runtime)
    # Templates come from Meta: the new inbox syncs them from the fake Graph API; only approved ones are offered.
    fake_graph.templates = [
        message_template("retomar_contato", "Olá {{1}}, ainda posso ajudar com o seu pedido?", category="MARKETING"),
        message_template("aguardando_aprovacao", "Oi {{1}}", status="PENDING"),
    ]
    async with serve_nexa(runtime) as nexa, httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api:
        account = f"/api/v1/accounts/{admin.account.id}"
        inbox = await whatsapp_inbox(api, admin, fake_graph)

        async def synced() -> bool:
            shown = (await api.get(f"{account}/inboxes/{inbox['id']}")).json()
            return len(shown["message_templates"]) == 2

        await eventually(synced)
        callback = httpx.URL(inbox["callback_webhook_url"]).path
        await fake_graph.customer_says(api, callback, "Quero saber do meu pedido", name="João")

        async def listed() -> list[dict[str, Any]]:
            return (await api.get(f"{account}/conversations", params={"status": "all", "assignee_type": "all"})).json()["data"]["payload"]

        conversation = (await eventually(listed))[0]  # inbound may be processed by a job
        # The customer wrote 25 hours ago: WhatsApp only takes templates now.
        async with runtime.db.session() as session:
            await session.execute(update(Message).where(Message.message_type == MessageType.incoming)
                                  .values(created_at=utcnow() - timedelta(hours=25)))

        context, page, errors = await new_page(browser, locale="pt-BR", viewport={"width": 390, "height": 844}, is_mobile=True)
        try:
            await sign_in(page, nexa.http, admin)
            assert await page.locator("html").get_attribute("lang") == "pt-BR"
            await page.locator('[data-tab="all"]', has_text="Todas").wait_for()
            await page.screenshot(path=SCREENSHOTS / "inbox-list-phone-pt.png")
            await page.click('[data-tab="all"]')
            await page.locator(".item", has_text="João").locator(".item__main").click()
            # On a phone the list gives way to the conversation.
            await page.locator(".conversation .conv__back").wait_for()
            assert not await page.locator(".list").is_visible()
            await page.locator(".composer__window--closed", has_text="Janela de 24 horas encerrada").wait_for()
            assert not await page.locator(".composer textarea").is_visible()
            offered = await page.locator(".template select option").all_inner_texts()
            assert offered[1:] == ["retomar_contato (pt_BR)"]
            await page.select_option(".template select", label="retomar_contato (pt_BR)")
            await page.fill('.template input[name="1"]', "João")
            await page.locator(".template__preview", has_text="Olá João, ainda posso ajudar").wait_for()
            await page.screenshot(path=SCREENSHOTS / "template-picker-phone-pt.png")
            await page.click("text=Enviar template")
            sent = await eventually(lambda: [s for s in fake_graph.sent if s.type == "template"])
            assert sent[0].body["template"]["name"] == "retomar_contato"
            await page.locator(".msg--out .msg__body", has_text="Olá João").wait_for()
            # A private note is still possible with the window closed.
            await page.click("text=Nota privada")
            assert await page.locator(".composer textarea").is_visible()
            # Back to the list on the phone; resolve it from the bulk bar.
            await page.click(".conv__back")
            await page.locator(".item", has_text="João").locator(".item__select").check()
            await page.locator(".list__bulk", has_text="1 selecionadas").wait_for()
            assert "Adicionar etiqueta…" in await page.locator('[data-bulk="label-add"] option').all_inner_texts()
            await page.click('[data-bulk="resolve"]')
            await page.locator(".list__empty", has_text="Nenhuma conversa aqui.").wait_for()
            assert errors == []
            assert conversation["id"] == 1
        finally:
            await context.close()
