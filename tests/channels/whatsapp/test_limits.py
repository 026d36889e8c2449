from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from nexa.config import Settings
from nexa.devtools.fake_graph import FakeGraph
from tests.channels.whatsapp.helpers import WhatsAppInbox, all_messages


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_max_bytes": 4096})


async def test_an_oversized_body_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    huge = fake_graph.webhook(messages=[fake_graph.text_message("x" * 5000)])
    refused = await fake_graph.post_webhook(client, whatsapp.callback_path, huge)
    assert refused.status_code == 413
    assert await all_messages(client, whatsapp) == []

    fits = await fake_graph.customer_says(client, whatsapp.callback_path, "curto")
    assert fits.status_code == 200
    assert [m["content"] for m in await all_messages(client, whatsapp)] == ["curto"]


async def test_a_body_sent_in_chunks_without_a_length_is_read_whole_and_held_to_the_limit(
    client: httpx.AsyncClient, whatsapp: WhatsAppInbox, fake_graph: FakeGraph
) -> None:
    async def in_chunks(raw: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 100):
            yield raw[start:start + 100]

    fits, headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("em pedaços")]))
    huge, huge_headers = fake_graph.signed(fake_graph.webhook(messages=[fake_graph.text_message("x" * 5000)]))
    refused = await client.post(whatsapp.callback_path, content=in_chunks(huge), headers=huge_headers)
    accepted = await client.post(whatsapp.callback_path, content=in_chunks(fits), headers=headers)
    assert "content-length" not in accepted.request.headers
    assert (refused.status_code, accepted.status_code) == (413, 200)
    assert [m["content"] for m in await all_messages(client, whatsapp)] == ["em pedaços"]
