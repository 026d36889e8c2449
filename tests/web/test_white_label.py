"""White-label: once an account has a brand, nothing a person reads says Nexa.

Walks the login page (on the account's own domain), the invitation page, the inbox, every settings page
and the web chat widget, and looks at what is visible or read aloud: text outside scripts and styles, the title, and the
alt, title, placeholder, aria-label and value attributes, plus the texts the page's scripts may show (the
catalog embedded in the page). Markup names (data-nexa, --nexa-brand, cookie names) are not visible and
are not checked. The browser test (tests/e2e/test_settings.py) checks the rendered text after scripts ran.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import httpx

from nexa.runtime import Runtime
from nexa.tenancy.models import Account
from nexa.web.app.settings import SECTIONS
from tests.factories import make_member
from tests.web.conftest import sign_in

_READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "value", "content"}
UPSTREAM = re.compile(r"\bnexa\b", re.IGNORECASE)


class _Readable(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skipping: str | None = None
        self.config: dict | None = None
        self._in_config = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self._skipping = tag
            self._in_config = attributes.get("id") == "app-config"
        self.texts.extend(value for name, value in attrs if name in _READ_ATTRIBUTES and value)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._skipping:
            self._skipping = None
            self._in_config = False

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config = json.loads(data)
        elif self._skipping is None:
            self.texts.append(data)


def readable_texts(html: str) -> list[str]:
    parser = _Readable()
    parser.feed(html)
    texts = [t for t in parser.texts if t.strip()]
    if parser.config:
        for message in parser.config.get("messages", {}).values():
            texts.extend(message if isinstance(message, list) else [message])
    return texts


async def test_a_branded_account_never_reads_nexa(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    async with runtime.db.session() as session:
        account = await session.get(Account, admin.account.id)
        assert account is not None
        account.branding = {"product_name": "Atende Já", "primary_color": "#aa3300"}
        account.custom_domain = "atende.example"
    widget_inbox = (await client.post(f"/api/v1/accounts/{admin.account.id}/inboxes", headers=admin.headers,
                                      json={"name": "Site", "channel_type": "web_widget"})).json()

    invited = await client.post(f"/api/v1/accounts/{admin.account.id}/agents", headers=admin.headers,
                                json={"email": "bia@example.com"})
    token = invited.json()["invitation_url"].rsplit("/", 1)[1]
    pages = {"login": (await client.get("/app/login", headers={"Host": "atende.example"})).text,
             "invitation": (await client.get(f"/app/invitations/{token}")).text}
    await sign_in(client, admin)
    app = f"/app/accounts/{admin.account.id}"
    pages["inbox"] = (await client.get(f"{app}/conversations")).text
    for section in SECTIONS:
        pages[section.slug] = (await client.get(f"{app}/settings/{section.slug}")).text
    pages["inbox settings"] = (await client.get(f"{app}/settings/inboxes/{widget_inbox['id']}")).text
    pages["widget"] = (await client.get("/widget", params={"website_token": widget_inbox["inbox_identifier"]})).text

    for locale in ("en", "pt-BR", "es"):
        pages[f"branding {locale}"] = (await client.get(f"{app}/settings/branding",
                                                        headers={"Accept-Language": locale})).text
    for name, html in pages.items():
        texts = readable_texts(html)
        assert any("Atende Já" in text for text in texts) or name == "widget", name
        leaks = [text for text in texts if UPSTREAM.search(text)]
        assert leaks == [], f"{name} says: {leaks}"


def test_the_walk_would_see_the_word() -> None:
    """The check above is only worth something if it finds the word where a person would read it."""
    html = ('<html><head><title>Nexa</title><script>var nexa = 1</script></head><body data-nexa="x">'
            '<img alt="Nexa logo"><p>Hello</p><script id="app-config" type="application/json">'
            '{"messages": {"Hi": "Welcome to Nexa"}}</script></body></html>')
    leaks = [text for text in readable_texts(html) if UPSTREAM.search(text)]
    assert leaks == ["Nexa", "Nexa logo", "Welcome to Nexa"]
