"""An administrator sets up the account in Debian's Chromium against a real Nexa server: a WhatsApp Cloud
inbox (callback URL and verify token shown), brand name, logo upload and colors (live preview, then the
inbox restyled), a label and a canned response. Then the settings on a phone-sized screen, and a webhook's
delivery log with a redelivery. Screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexa.devtools.servers import serve
from nexa.jobs.worker import Worker
from nexa.runtime import Runtime
from nexa.web.app.settings import SECTIONS
from tests.e2e.test_inbox import SCREENSHOTS, eventually, new_page, settings, sign_in, worker  # noqa: F401 (fixtures)
from tests.factories import make_member
from tests.realtime._server import serve as serve_nexa
from tests.tenancy.test_branding import PNG

BRAND_RED = "rgb(170, 51, 0)"


async def color_of(page: Any, selector: str, prop: str = "backgroundColor") -> str:
    return await page.locator(selector).first.evaluate(f"element => getComputedStyle(element).{prop}")


async def test_admin_sets_up_inbox_brand_label_and_canned_response(browser: Any, runtime: Runtime) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin = await make_member(runtime)
    async with serve_nexa(runtime) as nexa, httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api:
        account = f"/api/v1/accounts/{admin.account.id}"
        base = f"{nexa.http}/app/accounts/{admin.account.id}/settings"
        context, page, errors = await new_page(browser, locale="en-US")
        try:
            await sign_in(page, nexa.http, admin)
            await page.click("text=Settings")
            await page.wait_for_url(f"{base}/inboxes")

            # A WhatsApp Cloud inbox: the form shows that channel's fields and proposes a verify token.
            await page.get_by_label("Name", exact=True).fill("Vendas <b>SP</b>")
            await page.get_by_label("Channel").select_option("whatsapp_cloud")
            await page.get_by_label("Phone number ID").fill("106540352242922")
            await page.get_by_label("Access token").fill("EAAG-test-access-token")
            await page.get_by_label("App secret").fill("test-app-secret")
            verify_token = await page.get_by_label("Webhook verify token").input_value()
            assert len(verify_token) >= 32
            assert not await page.get_by_label("Bot token (from @BotFather)").is_visible()
            await page.click("text=Create inbox")
            await page.locator(".settings__result h3", has_text="Vendas <b>SP</b>").wait_for()
            inbox = (await api.get(f"{account}/inboxes")).json()["payload"][0]
            assert inbox["provider"] == "whatsapp_cloud" and inbox["name"] == "Vendas <b>SP</b>"
            assert await page.get_by_label("Callback URL", exact=True).input_value() == inbox["callback_webhook_url"]
            assert await page.get_by_label("Verify token", exact=True).input_value() == verify_token
            await page.locator('[data-list="inboxes"] a', has_text="Vendas <b>SP</b>").wait_for()
            await page.screenshot(path=SCREENSHOTS / "settings-inbox-created.png", full_page=True)

            # The inbox's own page: the callback URL again, the secrets write-only.
            await page.locator('[data-list="inboxes"] a', has_text="Vendas").first.click()
            await page.wait_for_url(f"{base}/inboxes/{inbox['id']}")
            assert await page.get_by_label("Callback URL", exact=True).input_value() == inbox["callback_webhook_url"]
            assert await page.get_by_label("Access token").get_attribute("placeholder") == "(unchanged)"
            assert await page.get_by_label("Phone number ID").input_value() == "106540352242922"

            # Brand colors: the preview follows the picker before anything is saved.
            await page.click("text=Branding")
            await page.wait_for_url(f"{base}/branding")
            await page.get_by_label("Product name").fill("Atende Já")
            await page.get_by_label("Main color").fill("#aa3300")
            preview_button = ".brand-preview .button--primary"
            await page.wait_for_function(
                f"getComputedStyle(document.querySelector('{preview_button}')).backgroundColor === '{BRAND_RED}'")
            assert await page.locator("[data-preview-name]").inner_text() == "Atende Já"
            await page.locator('[data-upload="logo"]').set_input_files(
                files=[{"name": "logo.png", "mimeType": "image/png", "buffer": PNG}])
            await page.locator(".toast", has_text="Image uploaded.").wait_for()
            logo_url = await page.get_by_label("Logo URL").input_value()
            assert logo_url.startswith(f"/brand/{admin.account.id}/")
            assert await page.locator("[data-preview-logo]").get_attribute("src") == logo_url
            await page.screenshot(path=SCREENSHOTS / "settings-branding-preview.png", full_page=True)
            await page.click("text=Save brand")
            await page.locator(".toast", has_text="Brand saved.").wait_for()
            assert (await api.get(account)).json()["branding"]["primary_color"] == "#aa3300"

            # The inbox wears the brand: name in the top bar, colors from the variables.
            await page.goto(f"{nexa.http}/app/accounts/{admin.account.id}/conversations")
            assert await page.locator(".topbar .brand__name").inner_text() == "Atende Já"
            assert await color_of(page, ".topbar .brand", "color") == BRAND_RED
            logo = page.locator(".topbar .brand__logo")
            assert await logo.get_attribute("src") == logo_url
            assert await logo.evaluate("image => image.complete && image.naturalWidth") == 1
            assert "Atende Já" in await page.title()
            await page.screenshot(path=SCREENSHOTS / "inbox-branded.png")
            # White-label, as rendered after the scripts ran: no page of the branded account says Nexa.
            for section in SECTIONS:
                await page.goto(f"{base}/{section.slug}")
                await page.wait_for_function("!document.querySelector('div[data-list]:empty')")  # lists loaded
                readable = await page.title() + await page.locator("body").inner_text()
                assert "Nexa" not in readable and "Atende Já" in readable, section.slug

            # The account's own settings: a time zone that does not exist is refused, a real one is kept.
            await page.goto(f"{base}/account")
            await page.get_by_label("Account name").fill("Loja da Ana")
            await page.get_by_label("Time zone (times in the inbox and reports)").fill("Mars/Olympus")
            await page.click("text=Save")
            await page.locator('[data-form="account"] .form__error', has_text="time zone").wait_for()
            await page.get_by_label("Time zone (times in the inbox and reports)").fill("America/Bogota")
            await page.click("text=Save")
            await page.wait_for_function("document.querySelector('[name=timezone]').defaultValue === 'America/Bogota'")
            saved = (await api.get(account)).json()
            assert (saved["name"], saved["timezone"]) == ("Loja da Ana", "America/Bogota")

            # A label and a canned response.
            await page.goto(f"{base}/labels")
            await page.get_by_label("Title").fill("vip")
            await page.get_by_label("Description").fill("Clientes <i>especiais</i>")
            await page.click("text=Save")
            await page.locator('[data-list="label"] .settings__row', has_text="Clientes <i>especiais</i>").wait_for()
            await page.goto(f"{base}/canned_responses")
            await page.get_by_label("Short code").fill("preco")
            await page.get_by_label("Message").fill("Nosso plano custa R$ 99 por mês.")
            await page.click("text=Save")
            await page.locator('[data-list="canned"] .settings__row', has_text="/preco").wait_for()
            assert [label["title"] for label in (await api.get(f"{account}/labels")).json()["payload"]] == ["vip"]
            canned = (await api.get(f"{account}/canned_responses")).json()
            assert [(c["short_code"], c["content"]) for c in canned] == [("preco", "Nosso plano custa R$ 99 por mês.")]
            await page.screenshot(path=SCREENSHOTS / "settings-canned-responses.png", full_page=True)
            # A refused change shows the API's reason in the form.
            await page.get_by_label("Short code").fill("preco")
            await page.get_by_label("Message").fill("outra")
            await page.click("text=Save")
            await page.locator('[data-form="canned"] .form__error').wait_for()
            assert errors == []
        finally:
            await context.close()

        # On a phone, the settings menu scrolls sideways above the page and every form field keeps its label.
        context, phone, errors = await new_page(browser, locale="pt-BR", viewport={"width": 390, "height": 844},
                                                is_mobile=True, has_touch=True)
        try:
            await sign_in(phone, nexa.http, admin)
            await phone.goto(f"{base}/tokens")
            await phone.get_by_label("Nome").fill("n8n")
            await phone.click("text=Criar token")
            token = await phone.locator('[data-result="token"] input').input_value()
            assert (await api.get(account, headers={"api_access_token": token})).status_code == 200
            listed = phone.locator('[data-list="tokens"] .settings__row', has_text="n8n")
            await listed.wait_for()
            assert "nexa" not in (await listed.inner_text()).lower()  # white-label: the list shows the id only
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page is {width}px wide on a 390px screen"
            await phone.screenshot(path=SCREENSHOTS / "settings-tokens-phone.png", full_page=True)
            assert errors == []
        finally:
            await context.close()


async def test_admin_reads_the_delivery_log_and_redelivers(browser: Any, runtime: Runtime, worker: Worker) -> None:
    """A webhook made in the settings; its receiver first fails (500, shown in the log), then the admin
    redelivers and the log shows the success."""
    admin = await make_member(runtime)
    answers = [500]
    received: list[dict[str, Any]] = []

    async def receive(request: Request) -> Response:
        received.append(await request.json())
        return Response("broken" if answers[0] == 500 else "ok", status_code=answers[0])

    receiver = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    async with serve_nexa(runtime) as nexa, serve(receiver) as hook, \
            httpx.AsyncClient(base_url=nexa.http, headers=admin.headers) as api:
        account = f"/api/v1/accounts/{admin.account.id}"
        inbox = (await api.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"})).json()
        context, page, errors = await new_page(browser, locale="en-US")
        try:
            await sign_in(page, nexa.http, admin)
            await page.goto(f"{nexa.http}/app/accounts/{admin.account.id}/settings/webhooks")
            await page.get_by_label("URL").fill(f"{hook.url}/hook")
            await page.get_by_label("Name").fill("CRM")
            await page.get_by_label("inbox_updated").check()
            await page.click("text=Add webhook")
            await page.wait_for_url("**/settings/webhooks/*")
            webhook_id = int(page.url.rsplit("/", 1)[1])
            await page.locator("h1[data-title]", has_text="CRM").wait_for()  # the page loaded the webhook
            assert await page.get_by_label("inbox_updated").is_checked()

            async def last_delivery() -> dict[str, Any] | None:
                deliveries = (await api.get(f"{account}/webhooks/{webhook_id}/deliveries")).json()["payload"]
                return deliveries[0] if deliveries else None

            async def answer_recorded() -> bool:
                return (delivery := await last_delivery()) is not None and delivery["response_status"] == 500

            await api.patch(f"{account}/inboxes/{inbox['id']}", json={"name": "API 2"})
            # The receiver's answer is recorded once it has answered: the log shows it after that commits.
            await eventually(answer_recorded)
            await page.reload()
            failed = page.locator(".settings__delivery", has_text="inbox_updated")
            await failed.locator("td", has_text="500").wait_for()
            await failed.scroll_into_view_if_needed()  # the log is below the form, in the page's own scroll area
            await page.screenshot(path=SCREENSHOTS / "settings-webhook-deliveries.png")

            answers[0] = 200
            await failed.locator("button", has_text="Redeliver").click()
            await page.locator(".toast", has_text="Sent again.").wait_for()

            async def delivered() -> bool:
                return (delivery := await last_delivery()) is not None and delivery["state"] == "succeeded"

            await eventually(delivered)
            await page.reload()
            await page.locator(".settings__delivery--succeeded td", has_text="200").wait_for()
            assert len(received) >= 2 and received[-1] == received[0]  # the same body again
            assert errors == []
        finally:
            await context.close()
