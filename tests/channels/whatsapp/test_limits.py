from __future__ import annotations

import httpx
import pytest

from nexa.config import Settings
from tests.channels.whatsapp.helpers import WhatsAppInbox, all_messages
from nexa.devtools.fake_graph import FakeGraph


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
