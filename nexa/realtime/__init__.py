"""Realtime events: published after commit to explicit channels, fanned out to WebSocket clients.

See docs/realtime.md.
"""

from nexa.realtime.bus import Bus, MemoryBus, RedisBus, build_bus
from nexa.realtime.events import (
    Event,
    EventName,
    account_channel,
    account_members_channel,
    contact_channel,
    conversation_channel,
    inbox_channel,
    user_channel,
)
from nexa.realtime.hub import CloseReason, Hub, Subscription, get_hub, publish, publish_now, set_hub

__all__ = [
    "Bus",
    "CloseReason",
    "Event",
    "EventName",
    "Hub",
    "MemoryBus",
    "RedisBus",
    "Subscription",
    "account_channel",
    "account_members_channel",
    "build_bus",
    "contact_channel",
    "conversation_channel",
    "get_hub",
    "inbox_channel",
    "publish",
    "publish_now",
    "set_hub",
    "user_channel",
]
