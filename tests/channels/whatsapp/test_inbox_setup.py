from __future__ import annotations

import httpx

from nexa.inboxes.models import Inbox
from nexa.runtime import Runtime
from tests.channels.whatsapp.helpers import create_whatsapp_inbox
from tests.factories import make_member
from nexa.devtools.fake_graph import FakeGraph


async def test_admin_connects_a_number_and_gets_the_callback_url_for_meta(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    admin = await make_member(runtime)
    inbox = await create_whatsapp_inbox(client, admin, fake_graph)

    assert inbox.json["channel_type"] == "Channel::Whatsapp" and inbox.json["provider"] == "whatsapp_cloud"
    assert inbox.json["callback_webhook_url"] == f"{runtime.settings.base_url}/webhooks/whatsapp/{inbox.json['inbox_identifier']}"
    assert inbox.json["channel_config"]["phone_number_id"] == fake_graph.phone_number_id
    assert inbox.json["channel_config"]["business_account_id"] == fake_graph.waba_id
    assert inbox.json["channel_config"]["api_base_url"] == fake_graph.api_base_url
    assert inbox.json["credentials_set"] == ["access_token", "app_secret", "webhook_verify_token"]
    response_text = str(inbox.json)
    assert fake_graph.access_token not in response_text and fake_graph.app_secret not in response_text
    async with runtime.db.session() as session:
        row = await session.get(Inbox, inbox.id)
        assert row is not None
        assert runtime.cipher.decrypt(row.encrypted_credentials["access_token"]) == fake_graph.access_token

    shown = await client.get(f"{inbox.account_url}/inboxes/{inbox.id}", headers=admin.headers)
    assert shown.json()["callback_webhook_url"] == inbox.json["callback_webhook_url"]
    api_inbox = await client.post(f"{inbox.account_url}/inboxes", json={"name": "API", "channel": {"type": "api"}}, headers=admin.headers)
    assert api_inbox.json()["callback_webhook_url"] is None


async def test_missing_settings_are_named_and_a_number_belongs_to_one_inbox(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph
) -> None:
    admin = await make_member(runtime)
    url = f"/api/v1/accounts/{admin.account.id}/inboxes"
    config = fake_graph.provider_config()
    for missing in ("phone_number_id", "api_key", "app_secret", "webhook_verify_token"):
        partial = {key: value for key, value in config.items() if key != missing}
        refused = await client.post(
            url, json={"name": "WA", "channel": {"type": "whatsapp", "provider": "whatsapp_cloud", "provider_config": partial}},
            headers=admin.headers,
        )
        assert refused.status_code == 422 and refused.json()["attributes"] == [missing], refused.text

    first = await create_whatsapp_inbox(client, admin, fake_graph)
    twin = await client.post(
        url, json={"name": "Twin", "channel": {"type": "whatsapp", "provider": "whatsapp_cloud", "provider_config": config}},
        headers=admin.headers,
    )
    assert twin.status_code == 422 and twin.json()["attributes"] == ["phone_number_id"]

    other = await create_whatsapp_inbox(client, admin, fake_graph, name="Suporte", phone_number_id="2002")
    moved = await client.patch(
        f"{url}/{other.id}", json={"channel_config": {"phone_number_id": config["phone_number_id"]}}, headers=admin.headers
    )
    assert moved.status_code == 422
    assert first.json["channel_config"]["phone_number_id"] == config["phone_number_id"]
