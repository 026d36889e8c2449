"""OutboundMessage -> the Graph API's send body, with WhatsApp's limits checked before anything is sent.

`message_body()` raises ValidationFailed (a 422 naming the limit) so the API can refuse a message up front;
the adapter turns the same error into a permanent DeliveryError when it meets it in a delivery job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nexa.channels.base import ListSection, OutboundMessage, OutgoingMedia, ReplyButton
from nexa.conversations.models import FileType
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_INTERACTIVE_BODY = 1024  # lists: Meta's current doc says 4096, older docs and partners 1024
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_SECTION_TITLE = 24

_MEDIA_KEYS = {
    FileType.image: "image",
    FileType.audio: "audio",
    FileType.video: "video",
    FileType.file: "document",
    FileType.sticker: "sticker",
}
_CAPTIONED = {"image", "video", "document"}
_URL = re.compile(r"https?://", re.IGNORECASE)


def message_body(message: OutboundMessage) -> dict[str, Any]:
    """The JSON to POST to /{phone_number_id}/messages."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to}
    body.update(_content(message))
    if message.reply_to_source_id:
        body["context"] = {"message_id": message.reply_to_source_id}
    if message.idempotency_key:
        # Echoed back on every status of this message: ties receipts to the delivery job that sent it.
        body["biz_opaque_callback_data"] = message.idempotency_key
    return body


def read_body(source_id: str, *, typing: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": source_id}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


def _content(message: OutboundMessage) -> dict[str, Any]:
    kinds = [kind for kind, present in (
        ("template", message.template is not None), ("media", bool(message.media)),
        ("buttons", bool(message.buttons)), ("list", bool(message.sections)),
    ) if present]
    if len(kinds) > 1:
        raise ValidationFailed(
            _(
                "A WhatsApp message is one of template, media, buttons or list, not %(kinds)s",
                kinds=" + ".join(kinds),
            ),
            kinds,
        )
    if message.template is not None:
        template = message.template
        payload: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
        if template.components:
            payload["components"] = [dict(component) for component in template.components]
        return {"type": "template", "template": payload}
    if message.media:
        return _media(message.media, message.text)
    if message.buttons:
        return _interactive("button", message.text, {"buttons": _buttons(message.buttons)})
    if message.sections:
        return _interactive("list", message.text, _list_action(message.list_button, message.sections))
    text = _require_text(message.text, "text", MAX_TEXT)
    return {"type": "text", "text": {"body": text, "preview_url": bool(_URL.search(text))}}


def _media(media: Sequence[OutgoingMedia], caption: str | None) -> dict[str, Any]:
    if len(media) > 1:
        raise ValidationFailed(
            _("WhatsApp sends one attachment per message: send each one separately"), ["attachments"]
        )
    item = media[0]
    key = _MEDIA_KEYS.get(item.file_type)
    if key is None:
        raise ValidationFailed(
            _("WhatsApp cannot send a %(file_type)s attachment", file_type=item.file_type), ["attachments"]
        )
    payload: dict[str, Any] = {"link": item.url}
    if caption:
        if key not in _CAPTIONED:
            raise ValidationFailed(
                _("WhatsApp %(key)s messages have no caption: send the text separately", key=key), ["content"]
            )
        payload["caption"] = _require_text(caption, "content", MAX_CAPTION)
    if key == "document" and item.filename:
        payload["filename"] = item.filename
    return {"type": key, key: payload}


def _interactive(kind: str, text: str | None, action: dict[str, Any]) -> dict[str, Any]:
    body = _require_text(text, "content", MAX_INTERACTIVE_BODY)
    return {"type": "interactive", "interactive": {"type": kind, "body": {"text": body}, "action": action}}


def _buttons(buttons: Sequence[ReplyButton]) -> list[dict[str, Any]]:
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ValidationFailed(
            _("WhatsApp reply buttons: 1 to %(max_buttons)s buttons", max_buttons=MAX_BUTTONS), ["buttons"]
        )
    _unique([b.id for b in buttons], "button ids", "buttons")
    _unique([b.title for b in buttons], "button titles", "buttons")
    for button in buttons:
        _limit(button.id, MAX_BUTTON_ID, "button id", "buttons")
        _limit(button.title, MAX_BUTTON_TITLE, "button title", "buttons")
    return [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in buttons]


def _list_action(button: str | None, sections: Sequence[ListSection]) -> dict[str, Any]:
    label = _require_text(button, "list_button", MAX_LIST_BUTTON)
    if len(sections) > MAX_SECTIONS:
        raise ValidationFailed(
            _("WhatsApp lists: at most %(max_sections)s sections", max_sections=MAX_SECTIONS), ["sections"]
        )
    rows = [row for section in sections for row in section.rows]
    if not 1 <= len(rows) <= MAX_ROWS:
        raise ValidationFailed(
            _("WhatsApp lists: 1 to %(max_rows)s rows in total", max_rows=MAX_ROWS), ["sections"]
        )
    _unique([row.id for row in rows], "row ids", "sections")
    payload = []
    for section in sections:
        if len(sections) > 1 and not section.title:
            raise ValidationFailed(
                _("WhatsApp lists: every section needs a title when there are several"), ["sections"]
            )
        if not section.rows:
            raise ValidationFailed(_("WhatsApp lists: a section needs at least one row"), ["sections"])
        entry: dict[str, Any] = {"rows": [_row(row.id, row.title, row.description) for row in section.rows]}
        if section.title:
            entry["title"] = _limit(section.title, MAX_SECTION_TITLE, "section title", "sections")
        payload.append(entry)
    return {"button": label, "sections": payload}


def _row(row_id: str, title: str, description: str | None) -> dict[str, Any]:
    row = {"id": _limit(row_id, MAX_ROW_ID, "row id", "sections"), "title": _limit(title, MAX_ROW_TITLE, "row title", "sections")}
    if description:
        row["description"] = _limit(description, MAX_ROW_DESCRIPTION, "row description", "sections")
    return row


def _require_text(value: str | None, field: str, limit: int) -> str:
    if not value or not value.strip():
        raise ValidationFailed(_("WhatsApp needs a non-empty %(field)s", field=field), [field])
    return _limit(value, limit, field, field)


def _limit(value: str, limit: int, what: str, field: str) -> str:
    if not value:
        raise ValidationFailed(_("WhatsApp: %(what)s must not be empty", what=what), [field])
    if len(value) > limit:
        raise ValidationFailed(
            _("WhatsApp: %(what)s is longer than %(limit)s characters", what=what, limit=limit), [field]
        )
    return value


def _unique(values: list[str], what: str, field: str) -> None:
    if len(set(values)) != len(values):
        raise ValidationFailed(_("WhatsApp: %(what)s must be unique within the message", what=what), [field])
