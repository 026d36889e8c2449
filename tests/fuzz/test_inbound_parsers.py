"""Every inbound parser, fed mutated real payloads and arbitrary bytes: it either returns events that hold the
pipeline's invariants or refuses the body with WebhookRejected(400). Anything else would be a 500 to the
provider, which then retries the same body for days."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexa.channels.base import InboundEvent, WebhookRejected
from nexa.channels.evolution.parse import parse_webhook as parse_evolution
from nexa.channels.telegram.parse import parse_update as parse_telegram
from nexa.channels.whatsapp_cloud.parse import parse_webhook as parse_whatsapp
from tests.fuzz.shapes import body_of, check_event, json_values, mutated

Parser = Callable[[bytes], list[InboundEvent]]


def _parses_or_refuses(parse: Parser, body: bytes) -> None:
    try:
        events = parse(body)
    except WebhookRejected as refused:
        assert refused.status_code == 400, refused
        return
    assert isinstance(events, list)
    for event in events:
        check_event(event)


# --- WhatsApp Cloud API (reference A3, A4) -----------------------------------------------------------------

def _wa_message(kind: str, body: object, **extra: object) -> dict:
    return {"from": "5511999990000", "id": f"wamid.{kind}", "timestamp": "1717000000", "type": kind, kind: body, **extra}


WHATSAPP = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp",
    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    "contacts": [{"profile": {"name": "Maria"}, "wa_id": "5511999990000", "user_id": "US.13491208655302741918"}],
    "messages": [
        _wa_message("text", {"body": "Hi, I need help"}, context={"from": "15550783881", "id": "wamid.OUT"},
                    referral={"source_url": "https://fb.me/x", "source_type": "ad", "headline": "Promo", "ctwa_clid": "c"}),
        _wa_message("image", {"id": "1234", "mime_type": "image/jpeg", "sha256": "abc", "caption": "this one"}),
        _wa_message("audio", {"id": "1235", "mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "voice": True}),
        _wa_message("document", {"id": "1236", "mime_type": "application/pdf", "sha256": "abc", "filename": "a.pdf"}),
        _wa_message("sticker", {"id": "1237", "mime_type": "image/webp", "sha256": "abc", "animated": False}),
        _wa_message("location", {"latitude": -23.5, "longitude": -46.6, "name": "Loja", "address": "Av. Paulista"}),
        _wa_message("contacts", [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+5511988887777", "type": "CELL"}]}]),
        _wa_message("interactive", {"type": "button_reply", "button_reply": {"id": "talk_to_agent", "title": "Talk"}}),
        _wa_message("interactive", {"type": "list_reply", "list_reply": {"id": "r1", "title": "Red", "description": "d"}}),
        _wa_message("interactive", {"type": "nfm_reply", "nfm_reply": {"response_json": "{\"a\": 1}", "body": "Sent", "name": "flow"}}),
        _wa_message("button", {"payload": "YES", "text": "Yes"}),
        _wa_message("reaction", {"message_id": "wamid.OUT", "emoji": "👍"}),
        _wa_message("order", {"catalog_id": "c1", "text": "pls", "product_items": [
            {"product_retailer_id": "sku", "quantity": 1, "item_price": 9.9, "currency": "BRL"}]}),
        _wa_message("system", {"body": "changed", "type": "user_changed_number", "wa_id": "5511999990001"},
                    identity={"acknowledged": True, "hash": "h"}),
        {**_wa_message("unknown", None), "errors": [{"code": 131051, "title": "Message type unknown",
                                                     "error_data": {"details": "not supported"}}]},
        _wa_message("revoke", {"original_message_id": "wamid.text"}),
        _wa_message("edit", {"original_message_id": "wamid.text", "message": {"type": "text", "text": {"body": "fixed"}}}),
    ],
    "statuses": [
        {"id": "wamid.OUT_1", "status": "delivered", "timestamp": "1717000200", "recipient_id": "5511999990000",
         "pricing": {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}},
        {"id": "wamid.OUT_2", "status": "failed", "timestamp": "1717090000", "recipient_id": "5511999990000",
         "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24 hours"}}]},
    ],
    "errors": [{"code": 131000, "title": "Something went wrong"}],
}}]}]}



def _whatsapp_alone(**value: object) -> dict:
    """The sample with one message or status: mutations then land on that one's fields far more often."""
    body = copy.deepcopy(WHATSAPP)
    body["entry"][0]["changes"][0]["value"].update({"messages": [], "statuses": [], "errors": [], **value})
    return body


_VALUE = WHATSAPP["entry"][0]["changes"][0]["value"]
WHATSAPP_SAMPLES = [WHATSAPP] + [_whatsapp_alone(messages=[m]) for m in _VALUE["messages"]] + [
    _whatsapp_alone(statuses=[s]) for s in _VALUE["statuses"]
]

# --- Evolution API v2 (reference B) ------------------------------------------------------------------------


def _upsert(message: dict, message_type: str, **key: object) -> dict:
    return {"key": {"remoteJid": "5511999990000@s.whatsapp.net", "fromMe": False, "id": f"3EB0{message_type}", **key},
            "pushName": "Maria", "status": "DELIVERY_ACK", "message": message, "contextInfo": None,
            "messageType": message_type, "messageTimestamp": 1717000000, "instanceId": "6f1c", "source": "android"}


EVOLUTION = [
    {"event": "messages.upsert", "instance": "acme-01", "date_time": "2025-10-21T11:40:39.123Z",
     "sender": "5511888880000@s.whatsapp.net", "server_url": "http://evo:8080", "apikey": None,
     "data": _upsert({"conversation": "Oi, preciso de ajuda"}, "conversation")},
    {"event": "messages.upsert", "instance": "acme-01", "data": [
        _upsert({"extendedTextMessage": {"text": "old build", "contextInfo": {"stanzaId": "3EB0X"}}}, "extendedTextMessage"),
        _upsert({"imageMessage": {"url": "https://mmg", "mimetype": "image/jpeg", "caption": "foto", "fileLength": {"low": 10, "high": 0}},
                 "base64": "/9j/", "mediaUrl": "https://s3/x.jpg"}, "imageMessage"),
        _upsert({"documentWithCaptionMessage": {"message": {"documentMessage": {"fileName": "a.pdf", "mimetype": "application/pdf"}}}},
                "documentWithCaptionMessage"),
        _upsert({"audioMessage": {"mimetype": "audio/ogg", "ptt": True, "fileLength": "2048"}}, "audioMessage"),
        _upsert({"locationMessage": {"degreesLatitude": -23.5, "degreesLongitude": -46.6, "name": "Loja"}}, "locationMessage"),
        _upsert({"contactsArrayMessage": {"contacts": [{"displayName": "Ana", "vcard": "BEGIN:VCARD"}]}}, "contactsArrayMessage"),
        _upsert({"reactionMessage": {"key": {"id": "3EB0conversation"}, "text": "👍"}}, "reactionMessage"),
        _upsert({"conversation": "via lid"}, "conversation", remoteJid="123@lid", remoteJidAlt="5511999990000@s.whatsapp.net",
                addressingMode="lid"),
    ]},
    {"event": "send.message", "instance": "acme-01", "data": _upsert({"conversation": "from the phone"}, "conversation", fromMe=True)},
    {"event": "messages.update", "instance": "acme-01", "data": {"messageId": "cm1", "keyId": "3EB0OUT", "remoteJid":
     "5511999990000@s.whatsapp.net", "fromMe": True, "status": "READ", "instanceId": "6f1c"}},
    {"event": "messages.update", "instance": "acme-01", "data": {"keyId": "3EB0OUT", "fromMe": True, "status": 3}},
    {"event": "messages.edited", "instance": "acme-01", "data": {"key": {"id": "3EB0conversation"}, "timestampMs": "1717000000123",
     "editedMessage": {"conversation": "fixed"}}},
    {"event": "messages.delete", "instance": "acme-01", "data": {"key": {"id": "3EB0conversation", "remoteJid": "x@s.whatsapp.net"}}},
    {"event": "connection.update", "instance": "acme-01", "data": {"instance": "acme-01", "wuid": "5511888880000@s.whatsapp.net",
     "profileName": "Acme", "state": "open", "statusReason": 200}},
    {"event": "qrcode.updated", "instance": "acme-01", "data": {"qrcode": {"instance": "acme-01", "pairingCode": "ABCD",
     "code": "2@x", "base64": "data:image/png;base64,iVBOR"}}},
]

# --- Telegram Bot API (reference C) ------------------------------------------------------------------------

_FROM = {"id": 111111111, "is_bot": False, "first_name": "Ana", "last_name": "S", "username": "ana", "language_code": "pt-br"}
_CHAT = {"id": 111111111, "first_name": "Ana", "username": "ana", "type": "private"}


def _tg(**fields: object) -> dict:
    return {"update_id": 100001, "message": {"message_id": 1365, "from": _FROM, "chat": _CHAT, "date": 1717000000, **fields}}


TELEGRAM = [
    _tg(text="/start", reply_to_message={"message_id": 1300, "chat": _CHAT}),
    _tg(photo=[{"file_id": "p1", "width": 90, "height": 90, "file_size": 100}, {"file_id": "p2", "width": 800, "height": 800}],
        caption="foto"),
    _tg(voice={"file_id": "v1", "mime_type": "audio/ogg", "file_size": 2048}),
    _tg(document={"file_id": "d1", "file_name": "a.pdf", "mime_type": "application/pdf"}),
    _tg(sticker={"file_id": "s1", "is_animated": False, "is_video": False, "emoji": "🙂"}),
    _tg(location={"latitude": -23.5, "longitude": -46.6}, venue={"title": "Loja", "address": "Av. Paulista"}),
    _tg(contact={"phone_number": "5511999990000", "first_name": "Ana", "user_id": 111111111}),
    {"update_id": 100002, "edited_message": {"message_id": 1365, "from": _FROM, "chat": _CHAT, "date": 1717000000,
                                             "edit_date": 1717000100, "text": "fixed"}},
    {"update_id": 100003, "callback_query": {"id": "cb1", "from": _FROM, "chat_instance": "ci", "data": "agent", "message": {
        "message_id": 1366, "chat": _CHAT, "date": 1717000000, "text": "Choose",
        "reply_markup": {"inline_keyboard": [[{"text": "Agent", "callback_data": "agent"}]]}}}},
]

CASES: list[tuple[str, Parser, list[object]]] = [
    ("whatsapp", parse_whatsapp, WHATSAPP_SAMPLES),
    ("evolution", parse_evolution, EVOLUTION + [{**EVOLUTION[1], "data": record} for record in EVOLUTION[1]["data"]]),
    ("telegram", parse_telegram, TELEGRAM),
]
IDS = [name for name, _, _ in CASES]


@pytest.mark.parametrize(("name", "parse", "samples"), CASES, ids=IDS)
def test_the_real_shapes_parse_into_sane_events(name: str, parse: Parser, samples: list[object]) -> None:
    # The starting points must themselves parse, or the mutations below would only ever test refusals.
    for sample in samples:
        events = parse(body_of(sample))
        assert events, (name, sample)
        for event in events:
            check_event(event)


@pytest.mark.parametrize(("name", "parse", "samples"), CASES, ids=IDS)
@given(data=st.data())
def test_mutated_payloads_parse_or_are_refused_with_400(name: str, parse: Parser, samples: list[object], data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from(samples))
    _parses_or_refuses(parse, body_of(data.draw(mutated(sample))))


@pytest.mark.parametrize(("name", "parse", "samples"), CASES, ids=IDS)
@settings(max_examples=25)
@given(document=json_values)
def test_arbitrary_json_parses_or_is_refused_with_400(name: str, parse: Parser, samples: list[object], document: object) -> None:
    _parses_or_refuses(parse, body_of(document))


@pytest.mark.parametrize(("name", "parse", "samples"), CASES, ids=IDS)
@settings(max_examples=25)
@given(body=st.binary(max_size=64) | st.sampled_from([b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe{}", b"NaN", b""]))
def test_arbitrary_bytes_are_refused_with_400(name: str, parse: Parser, samples: list[object], body: bytes) -> None:
    _parses_or_refuses(parse, body)


# --- what the fuzzer found once: kept as plain examples so a regression fails on every run -----------------


def _changed(document: object, path: tuple[object, ...], value: object) -> object:
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]  # type: ignore[index]
    parent[path[-1]] = value  # type: ignore[index]
    return changed


_WA_MESSAGE = ("entry", 0, "changes", 0, "value", "messages", 0)
_WA_STATUS = ("entry", 0, "changes", 0, "value", "statuses", 0)
FOUND: list[tuple[str, Parser, object]] = [
    ("wa type is a list", parse_whatsapp, _changed(WHATSAPP_SAMPLES[1], (*_WA_MESSAGE, "type"), ["text"])),
    ("wa errors not a list", parse_whatsapp, _changed(WHATSAPP_SAMPLES[15], (*_WA_MESSAGE, "errors"), 5)),
    ("wa phones not a list", parse_whatsapp, _changed(WHATSAPP_SAMPLES[7], (*_WA_MESSAGE, "contacts", 0, "phones"), 3)),
    ("wa status not a string", parse_whatsapp, _changed(WHATSAPP_SAMPLES[-1], (*_WA_STATUS, "status"), ["failed"])),
    ("wa status errors not a list", parse_whatsapp, _changed(WHATSAPP_SAMPLES[-1], (*_WA_STATUS, "errors"), 1)),
    ("evo reaction key", parse_evolution, _changed(EVOLUTION[1], ("data", 6, "message", "reactionMessage", "key"), "k")),
    ("evo document inner", parse_evolution, _changed(EVOLUTION[1], ("data", 2, "message", "documentWithCaptionMessage",
                                                                    "message"), "m")),
    ("evo contacts not a list", parse_evolution, _changed(EVOLUTION[1], ("data", 5, "message", "contactsArrayMessage",
                                                                         "contacts"), 1)),
    ("evo long high", parse_evolution, _changed(EVOLUTION[1], ("data", 1, "message", "imageMessage", "fileLength"),
                                                {"low": 1, "high": "x"})),
    ("evo far timestamp", parse_evolution, _changed(EVOLUTION[0], ("data", "messageTimestamp"), 10**20)),
    ("evo jid without digits", parse_evolution, _changed(EVOLUTION[0], ("data", "key", "remoteJid"), "@s.whatsapp.net")),
    ("evo update key", parse_evolution, {"event": "messages.update", "instance": "a", "data": {"key": "k"}}),
    ("evo edit key", parse_evolution, {"event": "messages.edited", "instance": "a", "data": {"key": 1}}),
    ("evo wuid", parse_evolution, _changed(EVOLUTION[-2], ("data", "wuid"), 5)),
    ("tg photo sizes", parse_telegram, _changed(TELEGRAM[1], ("message", "photo"), [None, {"file_id": "p", "width": "9"}])),
    ("tg far date", parse_telegram, _changed(TELEGRAM[0], ("message", "date"), 10**20)),
    ("tg keyboard", parse_telegram, _changed(TELEGRAM[-1], ("callback_query", "message", "reply_markup"), "x")),
    ("tg keyboard rows", parse_telegram, _changed(TELEGRAM[-1], ("callback_query", "message", "reply_markup",
                                                                 "inline_keyboard"), 7)),
    ("tg file fields", parse_telegram, _changed(TELEGRAM[3], ("message", "document", "mime_type"), ["x"])),
]


@pytest.mark.parametrize(("name", "parse", "document"), FOUND, ids=[name for name, _, _ in FOUND])
def test_bodies_the_fuzzer_found_parse_or_are_refused_with_400(name: str, parse: Parser, document: object) -> None:
    _parses_or_refuses(parse, body_of(document))


@pytest.mark.parametrize(("name", "parse", "samples"), CASES, ids=IDS)
def test_nan_deep_nesting_and_nul_characters(name: str, parse: Parser, samples: list[object]) -> None:
    for body in (body_of({**samples[0], "x": float("nan")}), b'{"a":' * 100_000):
        with pytest.raises(WebhookRejected):
            parse(body)
    # NUL cannot be stored by PostgreSQL: it is dropped and the message kept.
    events = parse(body_of(samples[0]).replace(b'"', b'"\\u0000', 1))
    assert events == parse(body_of(samples[0]))


def test_a_button_tap_without_a_user_id_is_refused() -> None:
    # It used to become a customer whose id is the string "None".
    with pytest.raises(WebhookRejected):
        parse_telegram(body_of({"update_id": 1, "callback_query": {"id": "c", "from": {"id": None}}}))
