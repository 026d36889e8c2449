"""Evolution API v2 webhook bodies -> normalized events (rules in docs/channels/evolution.md).

One body is one envelope `{event, instance, data, ...}`; `instance` is the route key. Events that are not
about messages or the connection (contacts, chats, presence...) are acknowledged and produce nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nexa.channels.base import (
    ChannelStatus,
    Customer,
    IncomingMedia,
    InboundEvent,
    InboundMessage,
    MessageChanged,
    StatusUpdate,
    WebhookRejected,
    json_object,
)
from nexa.conversations.models import ContentType, FileType, MessageStatus
from nexa.kit.clock import utcnow
from nexa.kit.lazy_text import _

MEDIA_TYPES = {
    "imageMessage": FileType.image,
    "audioMessage": FileType.audio,
    "videoMessage": FileType.video,
    "ptvMessage": FileType.video,  # round video note
    "documentMessage": FileType.file,
    "stickerMessage": FileType.sticker,
}
_RECEIPTS = {
    "SERVER_ACK": MessageStatus.sent,
    "DELIVERY_ACK": MessageStatus.delivered,
    "READ": MessageStatus.read,
    "PLAYED": MessageStatus.read,
    "ERROR": MessageStatus.failed,
}
# Some builds send Baileys' numeric WebMessageInfo.Status instead of its name.
_STATUS_NAMES = {0: "ERROR", 1: "PENDING", 2: "SERVER_ACK", 3: "DELIVERY_ACK", 4: "READ", 5: "PLAYED"}
_REVOKE = ("REVOKE", 0)
# Keys of `data.message` that are not the message itself.
_NOT_CONTENT = {"messageContextInfo", "base64", "mediaUrl", "speechToText"}
# Group chats, broadcast lists, status stories and channels are not customer conversations (see the docs).
_NOT_CUSTOMERS = ("@g.us", "@broadcast", "@newsletter")


def parse_webhook(body: bytes) -> list[InboundEvent]:
    envelope = json_object(body)
    event, instance = envelope.get("event"), envelope.get("instance")
    if not isinstance(event, str) or not isinstance(instance, str) or not instance:
        raise WebhookRejected(400, _("Not an Evolution webhook: `event` and `instance` are required"))
    parser = _PARSERS.get(event.lower().replace("_", "."))
    if parser is None:
        return []
    return [parsed for record in _records(envelope.get("data")) if (parsed := parser(record, instance)) is not None]


def _records(data: Any) -> list[dict[str, Any]]:
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(record, dict) for record in records):
        raise WebhookRejected(400, _("`data` must be an object or a list of objects"))
    return records


def _required_text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise WebhookRejected(400, _("`%(name)s` is required", name=name))
    return value


# --- messages.upsert / send.message --------------------------------------------------------------------


def _message(record: dict[str, Any], instance: str) -> InboundMessage | None:
    key = record.get("key")
    if not isinstance(key, dict):
        raise WebhookRejected(400, _("`data.key` is required"))
    source_id, remote_jid = _required_text(key, "id"), _required_text(key, "remoteJid")
    message = record.get("message") or {}
    if not isinstance(message, dict):
        raise WebhookRejected(400, _("`data.message` must be an object"))
    if remote_jid.endswith(_NOT_CUSTOMERS) or "protocolMessage" in message or "editedMessage" in message:
        # Edits and revokes come again as messages.edited / messages.delete, which carry their meaning.
        return None
    from_business = bool(key.get("fromMe"))
    kind = _kind(record, message)
    content, attributes, attachments = _content(kind, message, source_id)
    reply_to = _quoted_id(record, message.get(kind))
    if reply_to and "in_reply_to_external_id" not in attributes:
        attributes["in_reply_to_external_id"] = reply_to
    return InboundMessage(
        source_id=source_id,
        # pushName on our own messages is the business's name, not the customer's.
        customer=_customer(key, None if from_business else record.get("pushName")),
        sent_at=_timestamp(record.get("messageTimestamp")),
        content=content,
        content_type=ContentType.sticker if kind == "stickerMessage" else ContentType.text,
        content_attributes=attributes,
        attachments=attachments,
        route=instance,
        from_business=from_business,
    )


def _customer(key: dict[str, Any], push_name: Any) -> Customer:
    remote_jid: str = key["remoteJid"]
    # LID addressing (Baileys 7) hides the number in remoteJid; remoteJidAlt (older: senderPn) has it.
    phone_jid = remote_jid if not remote_jid.endswith("@lid") else key.get("remoteJidAlt") or key.get("senderPn")
    name = push_name if isinstance(push_name, str) and push_name.strip() else None
    is_phone = isinstance(phone_jid, str) and phone_jid.endswith("@s.whatsapp.net")
    digits = phone_jid.split("@", 1)[0].split(":", 1)[0] if is_phone else ""
    if digits.isascii() and digits.isdigit():
        return Customer(source_id=digits, name=name, phone=f"+{digits}", identifier=phone_jid)
    return Customer(source_id=remote_jid, name=name, identifier=remote_jid)


def _kind(record: dict[str, Any], message: dict[str, Any]) -> str:
    declared = record.get("messageType")
    if isinstance(declared, str) and (declared in message or declared == "conversation"):
        return declared
    return next((name for name in message if name not in _NOT_CONTENT), "unknown")


def _content(
    kind: str, message: dict[str, Any], source_id: str
) -> tuple[str | None, dict[str, Any], tuple[IncomingMedia, ...]]:
    body = message.get(kind)
    body = body if isinstance(body, dict) else {}
    if kind == "conversation":
        return _text(message.get("conversation")), {}, ()
    if kind == "extendedTextMessage":  # builds before 2.3 did not rewrite it to `conversation`
        return _text(body.get("text")), {}, ()
    if kind == "documentWithCaptionMessage":
        inner = _dict(_dict(body.get("message")).get("documentMessage"))
        return _content("documentMessage", {**message, "documentMessage": inner}, source_id)
    if kind in MEDIA_TYPES:
        return _text(body.get("caption")), {}, (_media(kind, body, message, source_id),)
    if kind in ("locationMessage", "liveLocationMessage"):
        meta = {
            "latitude": body.get("degreesLatitude"), "longitude": body.get("degreesLongitude"),
            "name": body.get("name"), "address": body.get("address"),
        }
        return None, {}, (IncomingMedia(FileType.location, meta=_present(meta)),)
    if kind == "contactMessage":
        return None, {}, (_contact_card(body),)
    if kind == "contactsArrayMessage":
        listed = body.get("contacts")
        cards = tuple(_contact_card(card) for card in listed if isinstance(card, dict)) if isinstance(listed, list) else ()
        return None, {}, cards
    if kind == "reactionMessage":
        reacted = _text(_dict(body.get("key")).get("id"))
        emoji = _text(body.get("text"))
        # An empty reaction is WhatsApp's "reaction removed".
        return emoji, {"is_reaction": True, "in_reply_to_external_id": reacted, "reaction_removed": emoji is None}, ()
    return None, {"unsupported": True, "provider_type": kind}, ()


def _media(kind: str, body: dict[str, Any], message: dict[str, Any], source_id: str) -> IncomingMedia:
    meta: dict[str, Any] = {}
    if isinstance(message.get("base64"), str):
        # Only with the webhook's base64 option; fetch_media uses it instead of calling Evolution back.
        meta["base64"] = message["base64"]
    if kind == "audioMessage" and body.get("ptt"):
        meta["voice"] = True
    return IncomingMedia(
        file_type=MEDIA_TYPES[kind],
        # The WhatsApp message id: what getBase64FromMediaMessage looks the media up by.
        provider_media_id=source_id,
        # mediaUrl exists only with Evolution's S3 storage; body["url"] is WhatsApp's encrypted blob, useless here.
        url=message.get("mediaUrl") if isinstance(message.get("mediaUrl"), str) else None,
        mime_type=_text(body.get("mimetype")),
        filename=_text(body.get("fileName")),
        size=_int(body.get("fileLength")),
        meta=meta,
    )


def _contact_card(card: dict[str, Any]) -> IncomingMedia:
    return IncomingMedia(FileType.contact, meta=_present({"name": card.get("displayName"), "vcard": card.get("vcard")}))


def _quoted_id(record: dict[str, Any], body: Any) -> str | None:
    for context in (record.get("contextInfo"), body.get("contextInfo") if isinstance(body, dict) else None):
        if isinstance(context, dict) and isinstance(context.get("stanzaId"), str):
            return context["stanzaId"]
    return None


# --- messages.update / messages.edited / messages.delete -----------------------------------------------


def _update(record: dict[str, Any], instance: str) -> InboundEvent | None:
    source_id = record.get("keyId") or _dict(record.get("key")).get("id")
    if not isinstance(source_id, str) or not source_id:
        raise WebhookRejected(400, _("`data.keyId` is required"))
    status = record.get("status")
    status = _STATUS_NAMES.get(status, status) if isinstance(status, int) else status
    if status == "DELETED":
        return MessageChanged(source_id=source_id, deleted=True, at=utcnow(), route=instance)
    receipt = _RECEIPTS.get(status) if isinstance(status, str) else None
    # Receipts only concern what we sent; Evolution's updates for the customer's own messages are noise.
    if receipt is None or record.get("fromMe") is False:
        return None
    remote = record.get("remoteJid") or _dict(record.get("key")).get("remoteJid")
    return StatusUpdate(
        source_id=source_id, status=receipt, at=utcnow(), route=instance,
        recipient=remote if isinstance(remote, str) and remote else None,
        error_title="WhatsApp did not deliver this message" if receipt == MessageStatus.failed else None,
    )


def _edit(record: dict[str, Any], instance: str) -> MessageChanged | None:
    source_id = _dict(record.get("key")).get("id")
    if not isinstance(source_id, str) or not source_id:
        raise WebhookRejected(400, _("`data.key.id` is required"))
    at = _timestamp_ms(record.get("timestampMs")) or utcnow()
    edited = record.get("editedMessage") or record.get("message")
    if isinstance(edited, dict):
        return MessageChanged(source_id=source_id, content=_any_text(edited), at=at, route=instance)
    if record.get("type") in _REVOKE:
        return MessageChanged(source_id=source_id, deleted=True, at=at, route=instance)
    return None


def _delete(record: dict[str, Any], instance: str) -> MessageChanged:
    key = record.get("key") if isinstance(record.get("key"), dict) else record
    return MessageChanged(source_id=_required_text(key, "id"), deleted=True, at=utcnow(), route=instance)


# --- connection.update / qrcode.updated ----------------------------------------------------------------


def _connection(record: dict[str, Any], instance: str) -> ChannelStatus:
    state, wuid = record.get("state"), record.get("wuid")
    values: dict[str, Any] = {
        "state": state, "status_reason": record.get("statusReason"), "profile_name": record.get("profileName"),
        "number": (wuid.split("@", 1)[0] or None) if isinstance(wuid, str) else None,
        "updated_at": utcnow().isoformat(),
    }
    if state == "open":
        values.update(qr_code=None, pairing_code=None)  # linked: the last QR code is spent
    return ChannelStatus(values=values, route=instance)


def _qr_code(record: dict[str, Any], instance: str) -> ChannelStatus:
    qrcode = record.get("qrcode") if isinstance(record.get("qrcode"), dict) else record
    return ChannelStatus(
        values={"qr_code": qrcode.get("base64"), "pairing_code": qrcode.get("pairingCode"),
                "updated_at": utcnow().isoformat()},
        route=instance,
    )


_PARSERS: dict[str, Callable[[dict[str, Any], str], InboundEvent | None]] = {
    "messages.upsert": _message,
    "send.message": _message,
    "messages.update": _update,
    "messages.edited": _edit,
    "messages.delete": _delete,
    "connection.update": _connection,
    "qrcode.updated": _qr_code,
}


# --- small readers -------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _any_text(message: dict[str, Any]) -> str | None:
    """The text of an edited message, whatever kind carries it."""
    if _text(message.get("conversation")):
        return message["conversation"]
    for body in message.values():
        if isinstance(body, dict) and (text := _text(body.get("text")) or _text(body.get("caption"))):
            return text
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, dict) and isinstance(value.get("low"), int):  # a protobuf Long as JSON
        high = value.get("high")
        return value["low"] + (high if isinstance(high, int) else 0) * 2**32
    return None


def _timestamp(value: Any) -> datetime:
    return _moment(_int(value)) or utcnow()


def _timestamp_ms(value: Any) -> datetime | None:
    milliseconds = _int(value)
    return _moment(milliseconds / 1000) if milliseconds else None


def _moment(seconds: float | None) -> datetime | None:
    """A unix time as a datetime; None when missing or beyond what a datetime holds (a garbled clock)."""
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}
