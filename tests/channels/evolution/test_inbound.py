"""A customer writes to a QR-linked number: Evolution posts webhooks, Nexa stores them once, in order."""

from __future__ import annotations

import time

import httpx
import jwt
from sqlalchemy import select

from nexa.channels.evolution.adapter import SECRET_HEADER
from nexa.inboxes.models import Inbox
from nexa.jobs.models import Job
from nexa.runtime import Runtime
from tests.channels.evolution.conftest import EvolutionInbox, conversations_of, create_evolution_inbox, messages_of
from tests.factories import make_member
from tests.fixtures.fake_evolution import (
    CUSTOMER_NUMBER,
    FakeEvolution,
    message_data,
    new_key_id,
    status_data,
    text_message,
)
from nexa.devtools.servers import RunningServer

JWT_KEY = "shared-jwt-key-of-at-least-32-bytes!"


async def test_setup_webhook_then_a_customer_text_becomes_a_conversation(
    client: httpx.AsyncClient, evolution: EvolutionInbox
) -> None:
    fake = evolution.fake
    assert "webhook_secret" in evolution.json["credentials_set"] and "apikey" in evolution.json["credentials_set"]
    assert fake.webhook is not None and fake.webhook["url"] == evolution.json["callback_webhook_url"]
    assert fake.webhook["enabled"] is True and fake.webhook["base64"] is False
    assert len(fake.webhook["headers"][SECRET_HEADER]) >= 32
    assert set(fake.webhook["events"]) == {
        "MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_DELETE", "MESSAGES_EDITED", "SEND_MESSAGE",
        "CONNECTION_UPDATE", "QRCODE_UPDATED",
    }
    assert fake.requests[-1].headers["apikey"] == "evo-key"

    response = await fake.deliver(client, "messages.upsert", text_message("Oi, preciso de ajuda", push_name="Maria"))
    assert response.status_code == 200, response.text

    [conversation] = await conversations_of(client, evolution)
    sender = conversation["meta"]["sender"]
    assert sender["name"] == "Maria" and sender["phone_number"] == f"+{CUSTOMER_NUMBER}"
    assert sender["identifier"] == f"{CUSTOMER_NUMBER}@s.whatsapp.net"
    [message] = await messages_of(client, evolution, conversation["id"])
    assert message["content"] == "Oi, preciso de ajuda" and message["message_type"] == 0


async def test_webhooks_without_the_secret_are_refused(client: httpx.AsyncClient, evolution: EvolutionInbox) -> None:
    fake, data = evolution.fake, text_message("Oi")
    missing = await fake.deliver(client, "messages.upsert", data, headers={})
    wrong = await fake.deliver(client, "messages.upsert", data, headers={SECRET_HEADER: "guess"})
    forged = await fake.deliver(client, "messages.upsert", data, headers={"authorization": "Bearer not.a.jwt"})
    assert (missing.status_code, wrong.status_code, forged.status_code) == (401, 403, 403)
    assert "x-nexa-webhook-secret" in missing.json()["error"]
    assert await conversations_of(client, evolution) == []


async def test_a_jwt_signed_with_the_configured_jwt_key_is_accepted(
    client: httpx.AsyncClient, runtime: Runtime, evolution_server: tuple[FakeEvolution, RunningServer]
) -> None:
    fake, server = evolution_server
    member = await make_member(runtime)
    inbox = (await create_evolution_inbox(client, member, server.url, jwt_key=JWT_KEY)).json()
    await client.post(f"/api/v1/accounts/{member.account.id}/inboxes/{inbox['id']}/setup_webhook", headers=member.headers)
    assert fake.webhook is not None and fake.webhook["headers"]["jwt_key"] == JWT_KEY

    now = int(time.time())
    signed = jwt.encode({"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook"}, JWT_KEY)
    ok = await fake.deliver(client, "messages.upsert", text_message("Oi"), headers={"authorization": f"Bearer {signed}"})
    expired = jwt.encode({"iat": now - 900, "exp": now - 300}, JWT_KEY)
    late = await fake.deliver(client, "messages.upsert", text_message("Oi"), headers={"authorization": f"Bearer {expired}"})
    other = jwt.encode({"iat": now, "exp": now + 600}, "another-key-that-is-long-enough-for-hs256")
    wrong = await fake.deliver(client, "messages.upsert", text_message("Oi"), headers={"authorization": f"Bearer {other}"})
    assert (ok.status_code, late.status_code, wrong.status_code) == (200, 403, 403)
    # The fake itself signs with jwt_key the way Evolution does.
    assert (await fake.deliver(client, "messages.upsert", text_message("De novo"))).status_code == 200


async def test_media_locations_contacts_reactions_and_quoted_replies(
    client: httpx.AsyncClient, runtime: Runtime, evolution: EvolutionInbox
) -> None:
    fake = evolution.fake
    first = text_message("Qual o preço?")
    photo = message_data(
        {"imageMessage": {"url": "https://mmg.whatsapp.net/enc", "mimetype": "image/jpeg", "caption": "Este aqui",
                          "fileLength": "2048"}},
        "imageMessage", contextInfo={"stanzaId": first["key"]["id"], "participant": f"{CUSTOMER_NUMBER}@s.whatsapp.net"},
    )
    document = message_data(
        {"documentWithCaptionMessage": {"message": {"documentMessage": {
            "mimetype": "application/pdf", "fileName": "pedido.pdf", "caption": "Meu pedido"}}}},
        "documentWithCaptionMessage",
    )
    voice = message_data({"audioMessage": {"mimetype": "audio/ogg; codecs=opus", "ptt": True}, "base64": "T2dnUw=="}, "audioMessage")
    location = message_data({"locationMessage": {"degreesLatitude": -23.55, "degreesLongitude": -46.63, "name": "Loja"}}, "locationMessage")
    card = message_data({"contactMessage": {"displayName": "João", "vcard": "BEGIN:VCARD\nEND:VCARD"}}, "contactMessage")
    reaction = message_data({"reactionMessage": {"key": {"id": first["key"]["id"]}, "text": "👍"}}, "reactionMessage")
    poll = message_data({"pollCreationMessageV3": {"name": "?"}}, "pollCreationMessageV3")
    for data in (first, photo, document, voice, location, card, reaction, poll):
        assert (await fake.deliver(client, "messages.upsert", data)).status_code == 200

    [conversation] = await conversations_of(client, evolution)
    messages = {m["source_id"]: m for m in await messages_of(client, evolution, conversation["id"])}
    quoted_id = messages[first["key"]["id"]]["id"]
    image = messages[photo["key"]["id"]]
    assert image["content"] == "Este aqui" and image["content_attributes"]["in_reply_to"] == quoted_id
    assert image["attachments"][0]["file_type"] == "image" and image["attachments"][0]["content_type"] == "image/jpeg"
    assert image["attachments"][0]["file_size"] == 2048
    pdf = messages[document["key"]["id"]]
    assert pdf["content"] == "Meu pedido" and pdf["attachments"][0]["meta"]["filename"] == "pedido.pdf"
    assert messages[voice["key"]["id"]]["attachments"][0]["meta"]["voice"] is True
    place = messages[location["key"]["id"]]["attachments"][0]
    assert (place["file_type"], place["coordinates_lat"], place["meta"]["name"]) == ("location", -23.55, "Loja")
    assert messages[card["key"]["id"]]["attachments"][0]["meta"]["vcard"].startswith("BEGIN:VCARD")
    liked = messages[reaction["key"]["id"]]
    assert liked["content"] == "👍" and liked["content_attributes"]["is_reaction"] is True
    assert liked["content_attributes"]["in_reply_to"] == quoted_id
    assert messages[poll["key"]["id"]]["content_attributes"] == {"unsupported": True, "provider_type": "pollCreationMessageV3"}

    async with runtime.db.session() as session:
        fetches = (await session.scalars(select(Job).where(Job.kind == "channels.fetch_media"))).all()
    assert len(fetches) == 3  # image, document, voice: the bytes are fetched in jobs


async def test_lid_addressing_groups_and_status_broadcasts(client: httpx.AsyncClient, evolution: EvolutionInbox) -> None:
    fake = evolution.fake
    lid = text_message("Oi pelo LID", key={
        "remoteJid": "123456789012345@lid", "remoteJidAlt": f"{CUSTOMER_NUMBER}@s.whatsapp.net", "fromMe": False,
        "id": new_key_id(), "addressingMode": "lid",
    })
    group = text_message("no grupo", key={"remoteJid": "120363040000000000@g.us", "participant": "5511777770000@s.whatsapp.net",
                                           "fromMe": False, "id": new_key_id()})
    story = text_message("story", key={"remoteJid": "status@broadcast", "fromMe": False, "id": new_key_id()})
    for data in (lid, group, story):
        response = await fake.deliver(client, "messages.upsert", data)
        assert response.status_code == 200
    [conversation] = await conversations_of(client, evolution)
    assert conversation["meta"]["sender"]["phone_number"] == f"+{CUSTOMER_NUMBER}"
    assert [m["content"] for m in await messages_of(client, evolution, conversation["id"])] == ["Oi pelo LID"]

    only_lid = text_message("sem número", key={"remoteJid": "999@lid", "fromMe": False, "id": new_key_id()})
    await fake.deliver(client, "messages.upsert", only_lid)
    senders = {c["meta"]["sender"]["identifier"] for c in await conversations_of(client, evolution)}
    assert "999@lid" in senders


async def test_messages_typed_on_the_phone_and_echoes_of_our_own_sends(
    client: httpx.AsyncClient, runtime: Runtime, evolution: EvolutionInbox
) -> None:
    fake = evolution.fake
    await fake.deliver(client, "messages.upsert", text_message("Oi"))
    typed = text_message("Respondi pelo celular", from_me=True, push_name="Loja Acme")
    assert (await fake.deliver(client, "messages.upsert", typed)).status_code == 200
    [conversation] = await conversations_of(client, evolution)
    assert [m["content"] for m in await messages_of(client, evolution, conversation["id"])] == ["Oi", "Respondi pelo celular"]
    # Evolution reports it twice (upsert and send.message): one message.
    assert (await fake.deliver(client, "send.message", typed)).status_code == 200
    assert [m["content"] for m in await messages_of(client, evolution, conversation["id"])] == ["Oi", "Respondi pelo celular"]

    assert conversation["meta"]["sender"]["name"] != "Loja Acme"
    url = f"{evolution.account_url}/conversations/{conversation['id']}/messages"
    reply = (await client.post(url, json={"content": "Olá, Maria!"}, headers=evolution.member.headers)).json()
    key_id = await _deliver_like_the_delivery_job(runtime, evolution, reply["id"])
    assert fake.sent[-1]["text"] == "Olá, Maria!" and fake.sent[-1]["number"] == CUSTOMER_NUMBER

    echo = message_data({"conversation": "Olá, Maria!"}, "conversation", key_id=key_id, from_me=True)
    assert (await fake.deliver(client, "send.message", echo)).status_code == 200
    assert (await fake.deliver(client, "messages.upsert", echo)).status_code == 200
    contents = [(m["content"], m["message_type"]) for m in await messages_of(client, evolution, conversation["id"])]
    assert contents == [("Oi", 0), ("Respondi pelo celular", 1), ("Olá, Maria!", 1)]


async def test_receipts_move_forward_only_and_early_ones_are_kept(
    client: httpx.AsyncClient, runtime: Runtime, evolution: EvolutionInbox
) -> None:
    fake = evolution.fake
    await fake.deliver(client, "messages.upsert", text_message("Oi"))
    [conversation] = await conversations_of(client, evolution)
    url = f"{evolution.account_url}/conversations/{conversation['id']}/messages"
    reply = (await client.post(url, json={"content": "Já vou ver"}, headers=evolution.member.headers)).json()
    key_id = await _deliver_like_the_delivery_job(runtime, evolution, reply["id"])

    for status in ("READ", "DELIVERY_ACK", "SERVER_ACK", "READ"):
        assert (await fake.deliver(client, "messages.update", status_data(key_id, status))).status_code == 200
    [_, sent] = await messages_of(client, evolution, conversation["id"])
    assert sent["status"] == "read"

    failing = (await client.post(url, json={"content": "Outra"}, headers=evolution.member.headers)).json()
    await fake.deliver(client, "messages.update", status_data("3EB0NOTYETKNOWN", "ERROR"))
    await fake.deliver(client, "messages.update", status_data(new_key_id(), "READ", from_me=False))
    await _deliver_like_the_delivery_job(runtime, evolution, failing["id"], key_id="3EB0NOTYETKNOWN")
    last = (await messages_of(client, evolution, conversation["id"]))[-1]
    assert last["status"] == "failed" and "WhatsApp did not deliver" in last["external_error"]


async def test_edits_and_deletions(client: httpx.AsyncClient, evolution: EvolutionInbox) -> None:
    fake = evolution.fake
    original, removed, revoked = text_message("Quero 2"), text_message("ops"), text_message("enviei errado")
    for data in (original, removed, revoked):
        await fake.deliver(client, "messages.upsert", data)
    edit = {"key": {**original["key"]}, "type": "MESSAGE_EDIT", "editedMessage": {"conversation": "Quero 3"},
            "timestampMs": "1717000999000"}
    assert (await fake.deliver(client, "messages.edited", edit)).status_code == 200
    await fake.deliver(client, "messages.delete", {**removed["key"], "status": "DELETED"})
    await fake.deliver(client, "messages.update", status_data(revoked["key"]["id"], "DELETED", from_me=False))
    # The protocol message behind an edit also arrives as an upsert: it must not become a message.
    protocol = message_data({"protocolMessage": {"key": original["key"], "type": "MESSAGE_EDIT"}}, "protocolMessage")
    await fake.deliver(client, "messages.upsert", protocol)

    [conversation] = await conversations_of(client, evolution)
    edited, deleted, gone = await messages_of(client, evolution, conversation["id"])
    assert edited["content"] == "Quero 3" and edited["content_attributes"]["previous_content"] == "Quero 2"
    assert deleted["content_attributes"]["deleted"] is True and gone["content_attributes"]["deleted"] is True


async def test_connection_state_and_qr_codes_are_kept_on_the_inbox(
    client: httpx.AsyncClient, runtime: Runtime, evolution: EvolutionInbox
) -> None:
    fake = evolution.fake
    qr = {"qrcode": {"instance": fake.instance, "pairingCode": "WZYEH1YY", "code": "2@abc",
                     "base64": "data:image/png;base64,iVBORw0KGgo="}}
    assert (await fake.deliver(client, "qrcode.updated", qr)).status_code == 200
    inbox = (await client.get(f"{evolution.account_url}/inboxes/{evolution.id}", headers=evolution.member.headers)).json()
    assert inbox["channel_config"]["channel_status"]["qr_code"].startswith("data:image/png")
    assert inbox["channel_config"]["instance"] == fake.instance

    connected = {"instance": fake.instance, "wuid": "5511888880000@s.whatsapp.net", "profileName": "Acme",
                 "state": "open", "statusReason": 200}
    await fake.deliver(client, "connection.update", connected)
    await fake.deliver(client, "chats.upsert", [{"remoteJid": f"{CUSTOMER_NUMBER}@s.whatsapp.net"}])
    async with runtime.db.session() as session:
        stored = await session.get(Inbox, evolution.id)
        assert stored is not None
        status = stored.channel_config["channel_status"]
    assert status["state"] == "open" and status["number"] == "5511888880000" and status["qr_code"] is None
    assert await conversations_of(client, evolution) == []


async def test_malformed_bodies_and_unknown_instances(client: httpx.AsyncClient, evolution: EvolutionInbox) -> None:
    fake = evolution.fake
    assert fake.webhook is not None
    url, headers = fake.webhook["url"], fake.webhook["headers"]
    not_json = await client.post(url, content=b"{oops", headers=headers)
    no_event = await client.post(url, json={"instance": fake.instance, "data": {}}, headers=headers)
    no_key = await client.post(url, json={"event": "messages.upsert", "instance": fake.instance, "data": {"message": {}}}, headers=headers)
    a_list = await client.post(url, json=[1, 2], headers=headers)
    assert [r.status_code for r in (not_json, no_event, no_key, a_list)] == [400, 400, 400, 400]
    assert "Malformed JSON" in not_json.json()["error"] and "key" in no_key.json()["error"]

    stranger = await client.post(url, json={"event": "messages.upsert", "instance": "someone-else", "data": text_message("Oi")}, headers=headers)
    assert stranger.status_code == 404


async def _deliver_like_the_delivery_job(
    runtime: Runtime, evolution: EvolutionInbox, message_id: int, *, key_id: str | None = None
) -> str:
    """Send a pending agent message through the adapter and store the id Evolution gave it, as delivery does."""
    from nexa.channels.base import OutboundMessage
    from nexa.channels.evolution.adapter import EvolutionAdapter
    from nexa.channels.inbound import apply_early_receipts
    from nexa.channels.webhooks import InboxCredentials
    from nexa.contacts.models import ContactInbox
    from nexa.conversations import messages
    from nexa.conversations.models import Conversation, Message, MessageStatus

    async with runtime.db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        inbox = await session.get(Inbox, evolution.id)
        assert conversation is not None and inbox is not None
        contact_inbox = await session.get(ContactInbox, conversation.contact_inbox_id)
        assert contact_inbox is not None
        sent = await EvolutionAdapter().send(
            inbox, InboxCredentials(inbox, runtime.cipher), OutboundMessage(to=contact_inbox.source_id, text=message.content),
            runtime.http,
        )
        source_id = key_id or sent.source_id
        await messages.apply_status(session, message, conversation, MessageStatus.sent, source_id=source_id)
        await apply_early_receipts(session, [(message, conversation)])
    return source_id
