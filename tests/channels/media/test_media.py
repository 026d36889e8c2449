"""A customer's photo is fetched, stored and shown to agents by expiring link; agents send files by link."""

from __future__ import annotations

import time

import httpx

from nexa.kit.storage import MEDIA_URL_EXPIRY_STEP, signed_media_url
from nexa.runtime import Runtime
from tests.channels.outbound.harness import Chat, eventually, status_becomes
from tests.factories import make_member
from nexa.devtools.fake_graph import FakeGraph

PHOTO = b"\xff\xd8\xff\xe0" + b"jpeg bytes " * 100


def _path(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.path}?{parsed.query.decode()}"


async def _customer_sends_media(client: httpx.AsyncClient, fake: FakeGraph, chat: Chat, media_id: str) -> None:
    body = fake.webhook(messages=[fake.media_message("image", media_id, caption="Esse aqui")])
    response = await fake.post_webhook(client, chat.inbox.callback_path, body)
    assert response.status_code == 200, response.text


async def _attachment(client: httpx.AsyncClient, chat: Chat) -> dict:
    payload = (await client.get(f"{chat.url}/messages", headers=chat.headers)).json()["payload"]
    [attachment] = [a for m in payload for a in m["attachments"]]
    return attachment


async def _stored_attachment(client: httpx.AsyncClient, chat: Chat) -> dict:
    """The conversation's one attachment, once the fetch job has stored its file."""

    async def stored() -> dict:
        attachment = await _attachment(client, chat)
        assert attachment["file_size"], attachment
        return attachment

    return await eventually(stored)


async def test_a_customers_photo_is_stored_and_served_by_signed_link(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    await _customer_sends_media(client, fake_graph, chat, fake_graph.add_media(PHOTO, "image/jpeg"))

    attachment = await _stored_attachment(client, chat)
    assert (attachment["file_size"], attachment["content_type"]) == (len(PHOTO), "image/jpeg")
    link = attachment["data_url"]
    assert link.startswith(f"{runtime.settings.base_url}/media/{attachment['id']}?expires=")

    served = await client.get(_path(link))  # no session: an <img> tag, Evolution, n8n
    assert served.status_code == 200
    assert served.content == PHOTO
    assert served.headers["content-type"] == "image/jpeg"

    tampered = await client.get(_path(link).replace(f"/media/{attachment['id']}", f"/media/{attachment['id'] + 1}"))
    assert tampered.status_code == 403
    assert tampered.json() == {"error": "This media link has expired or is not valid"}
    expired = signed_media_url(
        runtime.settings, attachment["id"], now=time.time() - runtime.settings.media_url_ttl_seconds - MEDIA_URL_EXPIRY_STEP - 1
    )
    assert (await client.get(_path(expired))).status_code == 403
    assert (await client.get(f"/media/{attachment['id']}")).status_code == 422


async def test_members_download_the_file_with_their_session_other_accounts_cannot(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    await _customer_sends_media(client, fake_graph, chat, fake_graph.add_media(PHOTO, "image/jpeg"))

    attachment = await _stored_attachment(client, chat)
    url = f"{chat.inbox.account_url}/attachments/{attachment['id']}/file"
    mine = await client.get(url, headers=chat.headers)
    assert (mine.status_code, mine.content) == (200, PHOTO)
    assert (await client.get(url)).status_code == 401
    stranger = await make_member(runtime)
    foreign = await client.get(f"/api/v1/accounts/{stranger.account.id}/attachments/{attachment['id']}/file", headers=stranger.headers)
    assert foreign.status_code == 404


async def test_media_whatsapp_no_longer_has_is_marked_on_the_attachment(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    await _customer_sends_media(client, fake_graph, chat, "media-that-expired")

    async def marked() -> dict:
        attachment = await _attachment(client, chat)
        assert attachment["meta"].get("fetch_error"), attachment
        return attachment

    attachment = await eventually(marked)
    assert attachment["data_url"] is None
    messages = (await client.get(f"{chat.url}/messages", headers=chat.headers)).json()["payload"]
    assert [m["content"] for m in messages if m["message_type"] == 0][-1] == "Esse aqui"


CATALOG = b"%PDF-1.4 catalog"


async def _agent_sends_catalog(client: httpx.AsyncClient, fake: FakeGraph, chat: Chat) -> tuple[dict, dict]:
    """An agent's reply with a PDF attached: (the message as created, what WhatsApp got once it was sent)."""
    response = await client.post(
        f"{chat.url}/messages",
        data={"content": "Segue o catálogo", "message_type": "outgoing"},
        files={"attachments[]": ("catalogo.pdf", CATALOG, "application/pdf")},
        headers=chat.headers,
    )
    assert response.status_code == 200, response.text
    created = response.json()
    await status_becomes(client, chat, created["id"], "sent")
    [sent] = fake.sent
    assert sent.type == "document"
    return created, sent.body


async def test_an_agents_attachment_goes_to_whatsapp_by_signed_link(
    client: httpx.AsyncClient, fake_graph: FakeGraph, chat: Chat, worker: object
) -> None:
    created, sent = await _agent_sends_catalog(client, fake_graph, chat)
    [attachment] = created["attachments"]
    assert (attachment["file_type"], attachment["file_size"]) == ("file", len(CATALOG))
    document = sent["document"]
    assert document["filename"] == "catalogo.pdf"
    fetched = await client.get(_path(document["link"]))
    assert (fetched.status_code, fetched.content) == (200, CATALOG)


async def test_a_multipart_reply_with_bad_json_fields_is_a_422(client: httpx.AsyncClient, chat: Chat) -> None:
    response = await client.post(
        f"{chat.url}/messages", data={"content": "x", "content_attributes": "{not json"}, headers=chat.headers
    )
    assert response.status_code == 422


def test_links_made_within_a_minute_are_one_url_valid_for_at_least_the_ttl(runtime: Runtime) -> None:
    start = 1_800_000_000.0  # a minute boundary
    urls = {signed_media_url(runtime.settings, 7, now=start + offset) for offset in (0.5, 20.0, 59.9)}
    assert len(urls) == 1
    expires = int(httpx.URL(urls.pop()).params["expires"])
    assert start + 59.9 + runtime.settings.media_url_ttl_seconds <= expires
