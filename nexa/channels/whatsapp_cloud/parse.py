"""Meta's webhook bodies -> normalized inbound events, in the order Meta wrote them.

Every entry, change, message and status of a body is read. Types Nexa has no special handling for are
stored as unsupported messages with Meta's error, never dropped. Only `field: "messages"` changes carry
conversation traffic; other fields (template reviews, account updates) are ignored here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nexa.channels.base import (
    Customer,
    IncomingMedia,
    InboundEvent,
    InboundMessage,
    MessageChanged,
    StatusUpdate,
    WebhookRejected,
    json_object,
)
from nexa.channels.whatsapp_cloud.errors import plain_reason
from nexa.conversations.models import FileType, MessageStatus
from nexa.kit.lazy_text import _

logger = logging.getLogger(__name__)

WEBHOOK_OBJECT = "whatsapp_business_account"

_MEDIA_TYPES = {
    "image": FileType.image,
    "audio": FileType.audio,
    "video": FileType.video,
    "document": FileType.file,
    "sticker": FileType.sticker,
}
_STATUSES = {
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "read": MessageStatus.read,
    "played": MessageStatus.read,  # a voice note listened to: it was read
    "failed": MessageStatus.failed,
}


def parse_webhook(body: bytes) -> list[InboundEvent]:
    payload = json_object(body)
    if payload.get("object") != WEBHOOK_OBJECT:
        raise WebhookRejected(
            400, _("Not a WhatsApp webhook: object must be %(expected)r", expected=WEBHOOK_OBJECT)
        )
    events: list[InboundEvent] = []
    for entry in _list(payload, "entry"):
        for change in _list(_mapping(entry, "entry"), "changes"):
            change = _mapping(change, "change")
            if change.get("field") == "messages":
                events.extend(_value_events(_mapping(change.get("value"), "change value")))
    return events


def _value_events(value: Mapping[str, Any]) -> list[InboundEvent]:
    route = _text(_mapping(value.get("metadata", {}), "metadata").get("phone_number_id"))
    for error in _list(value, "errors"):
        logger.warning("whatsapp webhook error", extra={"phone_number_id": route, "error": error})
    contacts = [_mapping(contact, "contact") for contact in _list(value, "contacts")]
    events: list[InboundEvent] = []
    for raw in _list(value, "messages"):
        events.append(_message_event(_mapping(raw, "message"), contacts, route))
    for raw in _list(value, "statuses"):
        status = _status_event(_mapping(raw, "status"), route)
        if status is not None:
            events.append(status)
    return events


# --- messages ------------------------------------------------------------------------------------------


def _message_event(message: Mapping[str, Any], contacts: list[Mapping[str, Any]], route: str | None) -> InboundEvent:
    source_id = _required(message, "id")
    sent_at = _timestamp(message)
    kind = message.get("type")
    if kind == "revoke":
        original = _required(_mapping(message.get("revoke"), "revoke"), "original_message_id")
        return MessageChanged(source_id=original, deleted=True, at=sent_at, route=route)
    if kind == "edit":
        edit = _mapping(message.get("edit"), "edit")
        new_version = _mapping(edit.get("message", {}), "edit.message")
        return MessageChanged(
            source_id=_required(edit, "original_message_id"), content=_body_of(new_version), at=sent_at, route=route
        )
    content, attributes, attachments = _content(message, kind)
    context = message.get("context") if isinstance(message.get("context"), Mapping) else {}
    if context.get("id"):
        attributes["in_reply_to_external_id"] = str(context["id"])
    for flag in ("forwarded", "frequently_forwarded"):
        if context.get(flag):
            attributes[flag] = True
    referral = message.get("referral")
    return InboundMessage(
        source_id=source_id,
        customer=_customer(message, contacts),
        sent_at=sent_at,
        content=content,
        content_attributes=attributes,
        attachments=attachments,
        referral=dict(referral) if isinstance(referral, Mapping) else None,
        route=route,
    )


def _content(message: Mapping[str, Any], kind: Any) -> tuple[str | None, dict[str, Any], tuple[IncomingMedia, ...]]:
    """(content, content_attributes, attachments) of one message by its type."""
    if not isinstance(kind, str):
        return None, _unsupported(message, kind), ()
    body = message.get(kind)
    part: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if kind == "text":
        return _text(part.get("body")), {}, ()
    if kind in _MEDIA_TYPES:
        return _text(part.get("caption")), {}, (_media(kind, part),)
    if kind == "location":
        return _location(part)
    if kind == "contacts" and isinstance(body, list):
        return None, {}, tuple(_contact_card(card) for card in body if isinstance(card, Mapping))
    if kind == "interactive":
        return _interactive(part)
    if kind == "button":
        reply = {"type": "quick_reply", "id": _text(part.get("payload")), "title": _text(part.get("text"))}
        return reply["title"], {"interactive_reply": reply}, ()
    if kind == "reaction":
        # An empty emoji is Meta's way of saying the customer took the reaction back.
        attributes = {"is_reaction": True, "in_reply_to_external_id": _text(part.get("message_id"))}
        return _text(part.get("emoji")) or "", attributes, ()
    if kind == "order":
        order = {"catalog_id": part.get("catalog_id"), "product_items": part.get("product_items") or []}
        return _text(part.get("text")), {"order": order}, ()
    if kind == "system":
        system = {key: value for key, value in part.items() if key != "body"}
        if isinstance(message.get("identity"), Mapping):
            system["identity"] = dict(message["identity"])
        return _text(part.get("body")), {"system": system}, ()
    return None, _unsupported(message, kind), ()


def _media(kind: str, part: Mapping[str, Any]) -> IncomingMedia:
    flags = {flag: part[flag] for flag in ("voice", "animated") if flag in part}
    return IncomingMedia(
        file_type=_MEDIA_TYPES[kind],
        provider_media_id=_text(part.get("id")),
        url=_text(part.get("url")),
        mime_type=_text(part.get("mime_type")),
        filename=_text(part.get("filename")),
        sha256=_text(part.get("sha256")),
        meta=flags,
    )


def _location(part: Mapping[str, Any]) -> tuple[str | None, dict[str, Any], tuple[IncomingMedia, ...]]:
    meta = {key: part[key] for key in ("latitude", "longitude", "name", "address", "url") if part.get(key) is not None}
    title = _text(part.get("name")) or _text(part.get("address"))
    return title, {}, (IncomingMedia(file_type=FileType.location, meta=meta),)


def _contact_card(card: Mapping[str, Any]) -> IncomingMedia:
    name = card.get("name") if isinstance(card.get("name"), Mapping) else {}
    phones = [phone.get("phone") for phone in _mappings(card.get("phones"))]
    meta = {"name": name.get("formatted_name"), "phones": [p for p in phones if p], "card": dict(card)}
    return IncomingMedia(file_type=FileType.contact, meta=meta)


def _interactive(part: Mapping[str, Any]) -> tuple[str | None, dict[str, Any], tuple[IncomingMedia, ...]]:
    kind = part.get("type")
    answer = part.get(kind) if isinstance(kind, str) and isinstance(part.get(kind), Mapping) else None
    if answer is None:
        return None, _unsupported({"interactive": dict(part)}, f"interactive:{kind}"), ()
    if kind == "nfm_reply":
        reply = {"type": kind, "name": _text(answer.get("name")), "response": _flow_response(answer.get("response_json"))}
        return _text(answer.get("body")), {"interactive_reply": reply}, ()
    reply = {"type": kind, "id": _text(answer.get("id")), "title": _text(answer.get("title"))}
    if answer.get("description") is not None:
        reply["description"] = _text(answer.get("description"))
    return reply["title"], {"interactive_reply": reply}, ()


def _flow_response(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # kept as Meta sent it rather than lost


def _unsupported(message: Mapping[str, Any], kind: Any) -> dict[str, Any]:
    errors = _mappings(message.get("errors"))
    attributes: dict[str, Any] = {"unsupported": {"type": _text(kind), "errors": errors}}
    if errors:
        attributes["external_error"] = _error_text(errors[0])
    else:
        attributes["external_error"] = f"WhatsApp message type {kind!r} is not supported yet."
    return attributes


def _body_of(message: Mapping[str, Any]) -> str | None:
    """The visible text of a (possibly edited) message: a text body or a media caption."""
    part = message.get(message.get("type")) if isinstance(message.get("type"), str) else None
    if not isinstance(part, Mapping):
        return None
    return _text(part.get("body")) or _text(part.get("caption"))


def _customer(message: Mapping[str, Any], contacts: list[Mapping[str, Any]]) -> Customer:
    """Who wrote. wa_id (the phone digits) when Meta gives it; the business-scoped user id otherwise."""
    sender = _required(message, "from")
    user_id = _text(message.get("from_user_id"))
    contact = next(
        (c for c in contacts if sender in (c.get("wa_id"), c.get("user_id")) or (user_id and c.get("user_id") == user_id)),
        contacts[0] if len(contacts) == 1 else {},
    )
    wa_id = _text(contact.get("wa_id")) or (sender if sender.isdigit() else None)
    user_id = user_id or _text(contact.get("user_id"))
    profile = contact.get("profile") if isinstance(contact.get("profile"), Mapping) else {}
    return Customer(
        source_id=wa_id or user_id or sender,
        name=_text(profile.get("name")),
        phone=f"+{wa_id}" if wa_id else None,
        identifier=user_id,
    )


# --- statuses ------------------------------------------------------------------------------------------


def _status_event(status: Mapping[str, Any], route: str | None) -> StatusUpdate | None:
    source_id = _required(status, "id")
    raw_status = status.get("status")
    mapped = _STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    if mapped is None:
        logger.info("whatsapp status ignored", extra={"status": raw_status, "source_id": source_id})
        return None
    errors = _mappings(status.get("errors"))
    first = errors[0] if errors else {}
    code = first.get("code")
    return StatusUpdate(
        source_id=source_id,
        status=mapped,
        at=_timestamp(status),
        error_code=str(code) if code is not None else None,
        error_title=plain_reason(code if isinstance(code, int) else None, _text(first.get("title"))),
        error_details=_details(first),
        route=route,
        recipient=_text(status.get("recipient_id")) or None,
    )


def _error_text(error: Mapping[str, Any]) -> str:
    code = error.get("code")
    reason = plain_reason(code if isinstance(code, int) else None, _text(error.get("title")))
    return " ".join(part for part in (f"({code})" if code is not None else None, reason, _details(error)) if part)


def _details(error: Mapping[str, Any]) -> str | None:
    data = error.get("error_data")
    return _text(data.get("details")) if isinstance(data, Mapping) else None


# --- shape checks --------------------------------------------------------------------------------------


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WebhookRejected(400, _("Malformed WhatsApp webhook: %(what)s must be an object", what=what))
    return value


def _list(parent: Mapping[str, Any], key: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WebhookRejected(400, _("Malformed WhatsApp webhook: %(key)s must be a list", key=key))
    return value


def _required(parent: Mapping[str, Any], key: str) -> str:
    value = _text(parent.get(key))
    if not value:
        raise WebhookRejected(400, _("Malformed WhatsApp webhook: %(key)s is missing", key=key))
    return value


def _timestamp(parent: Mapping[str, Any]) -> datetime:
    raw = parent.get("timestamp")
    try:
        return datetime.fromtimestamp(int(raw), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        raise WebhookRejected(
            400, _("Malformed WhatsApp webhook: timestamp %(raw)r is not unix seconds", raw=raw)
        ) from None


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    """The objects of an optional list (errors, phones): a wrong shape there is no reason to lose a message."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)
