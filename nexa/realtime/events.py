"""Realtime events: what changed, for which account, and exactly which channels may see it.

Channels are explicit (Zulip's model): the code that changes state names the recipients, and the hub
only ever delivers an event to clients subscribed to one of its channels. Nothing is broadcast by default.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class EventName(enum.StrEnum):
    """Chatwoot's ActionCable event names, so existing Chatwoot clients understand our stream."""

    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    FIRST_REPLY_CREATED = "first.reply.created"
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_STATUS_CHANGED = "conversation.status_changed"
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_READ = "conversation.read"
    CONVERSATION_CONTACT_CHANGED = "conversation.contact_changed"
    CONVERSATION_TYPING_ON = "conversation.typing_on"
    CONVERSATION_TYPING_OFF = "conversation.typing_off"
    ASSIGNEE_CHANGED = "assignee.changed"
    TEAM_CHANGED = "team.changed"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_MERGED = "contact.merged"
    CONTACT_DELETED = "contact.deleted"
    PRESENCE_UPDATE = "presence.update"
    NOTIFICATION_CREATED = "notification.created"
    NOTIFICATION_UPDATED = "notification.updated"
    NOTIFICATION_DELETED = "notification.deleted"
    ACCOUNT_CACHE_INVALIDATED = "account.cache_invalidated"
    # Not Chatwoot's and never sent to a client: between Nexa processes, on `revocations_channel()`.
    CREDENTIALS_REVOKED = "credentials.revoked"


def account_channel(account_id: int) -> str:
    """Everything in the account: administrators' stream (it carries every inbox's conversations)."""
    return f"account:{account_id}"


def account_members_channel(account_id: int) -> str:
    """What every member of the account may see, agents included (presence)."""
    return f"members:{account_id}"


def inbox_channel(inbox_id: int) -> str:
    return f"inbox:{inbox_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


def revocations_channel() -> str:
    """Internal: a user's sign-ins were revoked (logout, token revoked, removed from an account). No socket
    subscribes to it; hubs `listen()` to it so cached socket logins are forgotten in every process."""
    return "internal:revocations"


def conversation_channel(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def contact_channel(contact_inbox_id: int) -> str:
    """The web widget's stream for one contact in one inbox. Sockets never name their channels: a visitor
    proves who they are with the contact inbox's secret pubsub token and the server subscribes it here, so
    the id is no secret, and publishers need no lookup of the token."""
    return f"contact_inbox:{contact_inbox_id}"


@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """One realtime event.

    The client frame (`{"event": name, "data": {..., "account_id": N}}`, Chatwoot's shape) is serialized
    here, once: a payload that is not JSON fails at the call site instead of in an after-commit hook,
    later mutations of the caller's dict do not leak into the event, and every subscriber is sent the
    same string. Build events after `session.flush()` so generated ids are in `data`.
    """

    name: EventName
    data: Mapping[str, Any]
    account_id: int
    channels: frozenset[str]
    frame: str = field(init=False, repr=False, compare=False)

    def __init__(
        self, name: EventName, data: Mapping[str, Any], *, account_id: int, channels: Iterable[str]
    ) -> None:
        targets = frozenset(channels)
        if not targets:
            raise ValueError("an event needs at least one channel; recipients are always explicit")
        if any(not channel or _has_whitespace(channel) for channel in targets):
            raise ValueError(f"invalid channel name in {sorted(targets)!r}")
        payload = {**data, "account_id": account_id}
        _set(self, name=EventName(name), data=payload, account_id=account_id, channels=targets)
        _set(self, frame=_dumps({"event": self.name.value, "data": payload}))


# Whitespace separates channels on the Redis wire (see `_to_wire`). A compiled search, not a loop over the
# characters: every event checks each of its channels (the loop was 2 % of the inbound worker's CPU).
_WHITESPACE = re.compile(r"\s")


def _has_whitespace(value: str) -> bool:
    return _WHITESPACE.search(value) is not None


def _set(event: Event, **values: Any) -> None:
    for key, value in values.items():
        object.__setattr__(event, key, value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _to_wire(event: Event) -> bytes:
    """`<channels separated by spaces>\\n<frame>`: reuses the frame so nothing is serialized twice."""
    return (" ".join(sorted(event.channels)) + "\n" + event.frame).encode()


def _from_wire(raw: bytes) -> Event:
    """Rebuild an event received from another process; raises ValueError when `raw` is not one."""
    header, sep, frame = raw.decode().partition("\n")
    if not sep:
        raise ValueError("missing channel header")
    decoded = json.loads(frame)
    data = decoded["data"]
    event = object.__new__(Event)
    _set(
        event,
        name=EventName(decoded["event"]),
        data=data,
        account_id=int(data["account_id"]),
        channels=frozenset(header.split()),
        frame=frame,
    )
    return event
