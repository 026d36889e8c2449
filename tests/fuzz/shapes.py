"""Real payload shapes (from ../shared/reference/channels-wire-formats.md) and a strategy that mutates them.

A mutation replaces, removes or adds a value anywhere in the document, with arbitrary JSON or with words
the parsers branch on (message types, JIDs, statuses), so the fuzzer reaches the type-specific code paths
with the wrong shapes in them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from nexa.channels.base import ChannelStatus, IncomingMedia, InboundEvent, InboundMessage, MessageChanged, StatusUpdate
from nexa.conversations.models import FileType, MessageStatus

# Words the parsers look for: swapping them in sends a body down another branch with the old body's shape.
VOCABULARY = [
    "text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "button",
    "reaction", "order", "system", "revoke", "edit", "button_reply", "list_reply", "nfm_reply", "sent",
    "delivered", "read", "played", "failed", "messages", "whatsapp_business_account",
    "messages.upsert", "send.message", "messages.update", "messages.edited", "messages.delete",
    "connection.update", "qrcode.updated", "MESSAGES_UPSERT", "conversation", "extendedTextMessage",
    "imageMessage", "documentMessage", "documentWithCaptionMessage", "audioMessage", "locationMessage",
    "contactMessage", "contactsArrayMessage", "reactionMessage", "protocolMessage", "DELIVERY_ACK", "READ",
    "DELETED", "REVOKE", "open", "5511999990000@s.whatsapp.net", "123@lid", "1203@g.us", "status@broadcast",
    "private", "group", "", "0", "-1", "1717000000", "99999999999999999999", "+5511999990000", "\u0000",
    "ação 🙂",
]

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(VOCABULARY)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8) | st.sampled_from(VOCABULARY), children, max_size=3),
    max_leaves=6,
)


def _slots(node: Any, parent: Any = None, key: Any = None) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) in the document, the document itself as (None, None)."""
    yield parent, key
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _slots(value, node, name)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _slots(value, node, index)


@st.composite
def mutated(draw: st.DrawFn, sample: Any) -> Any:
    document = copy.deepcopy(sample)
    for _ in range(draw(st.integers(1, 4))):
        parent, key = draw(st.sampled_from(list(_slots(document))))
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if parent is None:
            if action == "replace":
                document = draw(json_values)
            continue
        if action == "remove":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(VOCABULARY) | st.text(max_size=6))] = draw(json_values)
        else:
            parent[key] = draw(json_values)
    return document


def body_of(document: Any) -> bytes:
    # allow_nan: NaN and Infinity are what a sloppy sender's JSON library may emit; Python's parser takes them.
    return json.dumps(document, allow_nan=True).encode()


# --- what any parse result must look like ----------------------------------------------------------------


def _storable(value: Any) -> None:
    """JSON that PostgreSQL stores: no NaN/Infinity, no NUL characters."""
    text = json.dumps(value, allow_nan=False)  # raises on NaN/Infinity
    assert "\\u0000" not in text, value


def _optional_text(value: Any) -> None:
    assert value is None or (isinstance(value, str) and "\x00" not in value), value


def _required_text(value: Any) -> None:
    assert isinstance(value, str) and value and "\x00" not in value, value


def _moment(value: Any) -> None:
    assert isinstance(value, datetime) and value.tzinfo is not None, value


def _media(media: Any) -> None:
    assert isinstance(media, IncomingMedia) and isinstance(media.file_type, FileType)
    for text in (media.provider_media_id, media.url, media.mime_type, media.filename, media.sha256):
        _optional_text(text)
    assert media.size is None or (isinstance(media.size, int) and not isinstance(media.size, bool)), media.size
    _storable(dict(media.meta))


def check_event(event: InboundEvent) -> None:
    """The invariants the inbound pipeline relies on for every event a parser returns."""
    _optional_text(event.route)
    if isinstance(event, InboundMessage):
        _required_text(event.source_id)
        _required_text(event.customer.source_id)
        for text in (event.customer.name, event.customer.identifier, event.content):
            _optional_text(text)
        assert event.customer.phone is None or event.customer.phone.startswith("+"), event.customer.phone
        _moment(event.sent_at)
        _storable(dict(event.content_attributes))
        _storable(dict(event.referral) if event.referral is not None else None)
        for media in event.attachments:
            _media(media)
    elif isinstance(event, StatusUpdate):
        _required_text(event.source_id)
        assert isinstance(event.status, MessageStatus)
        _moment(event.at)
        for text in (event.error_code, event.error_title, event.error_details):
            _optional_text(text)
    elif isinstance(event, MessageChanged):
        _required_text(event.source_id)
        _optional_text(event.content)
        assert event.at is None or (_moment(event.at) is None)
    else:
        assert isinstance(event, ChannelStatus), event
        _storable(dict(event.values))
