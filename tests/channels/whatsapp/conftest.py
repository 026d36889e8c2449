"""A WhatsApp Cloud inbox wired to the fake Graph API, created the way an admin does it."""

from __future__ import annotations

import httpx
import pytest

from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import WhatsAppInbox, create_whatsapp_inbox
from tests.factories import make_member
from nexa.devtools.fake_graph import FakeGraph
from tests.fixtures.fake_graph import fake_graph  # noqa: F401  (makes the fixture available here)


@pytest.fixture
async def whatsapp(client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph) -> WhatsAppInbox:  # noqa: F811
    return await create_whatsapp_inbox(client, await make_member(runtime), fake_graph)
