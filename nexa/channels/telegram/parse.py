"""Telegram Bot API updates -> normalized events (rules in docs/channels/telegram.md).

Telegram's message ids count per chat, so a message's source_id is "<chat id>:<message id>"; a button tap
has no message of its own and is "callback:<callback query id>". Only private chats are conversations:
updates from groups and channels are acknowledged and not stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nexa.channels.base import (
    Customer,
    IncomingMedia,
    InboundEvent,
    InboundMessage,
    MessageChanged,
    WebhookRejected,
    json_object,
)
from nexa.conversations.models import ContentType, FileType
from nexa.kit.clock import utcnow
from nexa.kit.lazy_text import _

CALLBACK_PREFIX = "callback:"


def parse_update(body: bytes) -> list[InboundEvent]:
    update = json_object(body)
    if not isinstance(update.get("update_id"), int):
        raise WebhookRejected(400, _("Not a Telegram update: `update_id` is required"))
    if "message" in update:
        message = _object(update, "message")
        return [_message(message)] if _is_private(message) else []
    if "edited_message" in update:
        edited = _object(update, "edited_message")
        return [_edit(edited)] if _is_private(edited) else []
    if "callback_query" in update:
        callback = _object(update, "callback_query")
        origin = callback.get("message")
        return [_button_tap(callback)] if not isinstance(origin, dict) or _is_private(origin) else []
    return []  # channel posts, polls, membership changes...: nothing to store


def source_id_of(chat_id: Any, message_id: Any) -> str:
    return f"{chat_id}:{message_id}"


def message_id_in(source_id: str) -> tuple[str, int] | None:
    """(chat id, message id) of one of our source ids; None for a button tap, which is no message."""
    chat_id, _, message_id = source_id.rpartition(":")
    return (chat_id, int(message_id)) if chat_id and message_id.isdigit() and not source_id.startswith(CALLBACK_PREFIX) else None


def _object(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise WebhookRejected(400, _("`%(name)s` must be an object", name=name))
    return value


def _chat_id(message: dict[str, Any]) -> int:
    chat_id = _object(message, "chat").get("id")
    if not isinstance(chat_id, int):
        raise WebhookRejected(400, _("`chat.id` is required"))
    return chat_id


def _is_private(message: dict[str, Any]) -> bool:
    return _object(message, "chat").get("type") == "private"


def _message_id(message: dict[str, Any]) -> str:
    message_id = message.get("message_id")
    if not isinstance(message_id, int):
        raise WebhookRejected(400, _("`message_id` is required"))
    return source_id_of(_chat_id(message), message_id)


def _customer(user: dict[str, Any], chat_id: int, phone: str | None = None) -> Customer:
    name = " ".join(part for part in (user.get("first_name"), user.get("last_name")) if isinstance(part, str) and part)
    username = user.get("username")
    return Customer(
        source_id=str(chat_id),
        name=name or (username if isinstance(username, str) else None),
        phone=phone,
        identifier=f"@{username}" if isinstance(username, str) and username else None,
    )


def _message(message: dict[str, Any]) -> InboundMessage:
    chat_id = _chat_id(message)
    sender = message.get("from") if isinstance(message.get("from"), dict) else message["chat"]
    attachments = _attachments(message)
    content = _text_of(message)
    attributes: dict[str, Any] = {}
    reply = message.get("reply_to_message")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        attributes["in_reply_to_external_id"] = source_id_of(chat_id, reply["message_id"])
    if not content and not attachments:
        attributes.update(unsupported=True, provider_type=_first_field(message))
    return InboundMessage(
        source_id=_message_id(message),
        customer=_customer(sender, chat_id, _own_phone(message, sender)),
        sent_at=_timestamp(message.get("date")),
        content=content,
        content_type=ContentType.sticker if "sticker" in message else ContentType.text,
        content_attributes=attributes,
        attachments=attachments,
    )


def _edit(message: dict[str, Any]) -> MessageChanged:
    return MessageChanged(
        source_id=_message_id(message),
        content=_text_of(message),
        at=_timestamp(message.get("edit_date")),
    )


def _button_tap(callback: dict[str, Any]) -> InboundMessage:
    callback_id, user = callback.get("id"), callback.get("from")
    if not isinstance(callback_id, str) or not isinstance(user, dict):
        raise WebhookRejected(400, _("`callback_query.id` and `callback_query.from` are required"))
    origin = callback.get("message") if isinstance(callback.get("message"), dict) else None
    chat_id = _chat_id(origin) if origin else user.get("id")
    if not isinstance(chat_id, int):
        raise WebhookRejected(400, _("`callback_query.from.id` is required"))
    data = callback.get("data") if isinstance(callback.get("data"), str) else None
    attributes: dict[str, Any] = {
        # Chatwoot-style button reply; the query id lets the webhook answer answerCallbackQuery.
        "button_reply": {"id": data, "title": _button_title(origin, data)},
        "callback_query_id": callback_id,
    }
    if origin and isinstance(origin.get("message_id"), int):
        attributes["in_reply_to_external_id"] = source_id_of(chat_id, origin["message_id"])
    return InboundMessage(
        source_id=f"{CALLBACK_PREFIX}{callback_id}",
        customer=_customer(user, chat_id),
        sent_at=utcnow(),  # a callback query carries no date
        content=data,
        content_attributes=attributes,
    )


def _button_title(origin: dict[str, Any] | None, data: str | None) -> str | None:
    markup = (origin or {}).get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data and isinstance(button.get("text"), str):
                return button["text"]
    return None


def _attachments(message: dict[str, Any]) -> tuple[IncomingMedia, ...]:
    photo = message.get("photo")
    photos = [size for size in photo if isinstance(size, dict)] if isinstance(photo, list) else []
    if photos:
        largest = max(photos, key=lambda size: (_count(size, "width") * _count(size, "height"), _count(size, "file_size")))
        return (_file(FileType.image, largest, "image/jpeg"),)
    if isinstance(voice := message.get("voice"), dict):
        return (_file(FileType.audio, voice, "audio/ogg", voice=True),)
    for field, file_type in (("audio", FileType.audio), ("video", FileType.video), ("video_note", FileType.video),
                             ("animation", FileType.video), ("document", FileType.file)):
        if isinstance(body := message.get(field), dict):
            return (_file(file_type, body, None),)
    if isinstance(sticker := message.get("sticker"), dict):
        mime = "video/webm" if sticker.get("is_video") else "application/x-tgsticker" if sticker.get("is_animated") else "image/webp"
        return (_file(FileType.sticker, sticker, mime, emoji=sticker.get("emoji")),)
    if isinstance(location := message.get("location"), dict):
        venue = message.get("venue") if isinstance(message.get("venue"), dict) else {}
        meta = {"latitude": location.get("latitude"), "longitude": location.get("longitude"),
                "name": venue.get("title"), "address": venue.get("address")}
        return (IncomingMedia(FileType.location, meta={k: v for k, v in meta.items() if v is not None}),)
    if isinstance(contact := message.get("contact"), dict):
        name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if isinstance(p, str) and p)
        meta = {"name": name or None, "phone_number": contact.get("phone_number"), "vcard": contact.get("vcard")}
        return (IncomingMedia(FileType.contact, meta={k: v for k, v in meta.items() if v is not None}),)
    return ()


def _file(file_type: FileType, body: dict[str, Any], default_mime: str | None, **meta: Any) -> IncomingMedia:
    file_id = body.get("file_id")
    if not isinstance(file_id, str):
        raise WebhookRejected(400, _("`file_id` is required on an attachment"))
    return IncomingMedia(
        file_type=file_type,
        provider_media_id=file_id,
        mime_type=_str(body.get("mime_type")) or default_mime,
        filename=_str(body.get("file_name")),
        size=_count(body, "file_size") or None,
        meta={k: v for k, v in meta.items() if v is not None},
    )


def _own_phone(message: dict[str, Any], sender: dict[str, Any]) -> str | None:
    """The customer's number, when they shared their own contact card (Telegram never tells it otherwise)."""
    contact = message.get("contact")
    if isinstance(contact, dict) and contact.get("user_id") == sender.get("id") and _str(contact.get("phone_number")):
        number = contact["phone_number"]
        return number if number.startswith("+") else f"+{number}"
    return None


def _first_field(message: dict[str, Any]) -> str:
    envelope = {"message_id", "from", "chat", "date", "sender_chat", "reply_to_message", "entities", "edit_date"}
    return next((name for name in message if name not in envelope), "unknown")


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else utcnow()
    except (OverflowError, OSError, ValueError):  # beyond what a datetime holds: a garbled clock
        return utcnow()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _text_of(message: dict[str, Any]) -> str | None:
    return _str(message.get("text")) or _str(message.get("caption"))


def _count(body: dict[str, Any], name: str) -> int:
    """A non-negative integer field (sizes, dimensions); 0 when missing or not a number."""
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
