"""The fake Graph API posts a send's receipts as Meta does: again when the answer is a 5xx or never comes."""

from __future__ import annotations

import time
from collections import Counter

import httpx

from nexa.devtools.fake_graph import FakeGraph


async def test_receipts_are_posted_again_after_a_5xx_or_a_dropped_connection() -> None:
    answers = iter(["drop", 503, 200, 401])
    posted: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        posted.append(request.read().decode())
        answer = next(answers)
        if answer == "drop":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(answer)

    fake = FakeGraph()
    async with fake.running(), httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as webhooks, \
            httpx.AsyncClient() as business:
        fake.send_receipts_to(webhooks, "http://nexa.test/webhooks/whatsapp/x", ("sent", "delivered"))
        sent = await business.post(
            f"{fake.api_base_url}/{fake.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "to": "5511999990000", "type": "text", "text": {"body": "Oi"}},
            headers={"Authorization": f"Bearer {fake.access_token}"},
        )
        assert sent.status_code == 200, sent.text
        await fake.settle()
    assert ['"sent"' in body for body in posted] == [True, True, True, False]
    assert '"delivered"' in posted[-1]
    # A refusal is final (Meta does not post it again) but the receipt was not taken.
    assert fake.receipts_taken == Counter({"sent": 1})


async def test_receipts_can_come_a_moment_after_the_send_is_answered() -> None:
    posted_at: list[float] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        posted_at.append(time.monotonic())
        return httpx.Response(200)

    fake = FakeGraph()
    async with fake.running(), httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as webhooks, \
            httpx.AsyncClient() as business:
        fake.send_receipts_to(webhooks, "http://nexa.test/webhooks/whatsapp/x", ("sent", "delivered"), after=0.3)
        sent = await business.post(
            f"{fake.api_base_url}/{fake.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "to": "5511999990000", "type": "text", "text": {"body": "Oi"}},
            headers={"Authorization": f"Bearer {fake.access_token}"},
        )
        answered_at = time.monotonic()
        assert sent.status_code == 200, sent.text
        assert posted_at == []
        await fake.settle()
    assert len(posted_at) == 2
    assert posted_at[0] - answered_at >= 0.25
