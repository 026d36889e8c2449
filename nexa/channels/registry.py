"""Which adapter serves which channel type. Each channel's package registers itself on import."""

from __future__ import annotations

import importlib

from nexa.channels.base import ChannelAdapter
from nexa.inboxes.models import ChannelType

_ADAPTERS: dict[ChannelType, ChannelAdapter] = {}

# Imported on first use so the registry is complete without import-order games.
CHANNEL_MODULES = (
    "nexa.channels.whatsapp_cloud.adapter",
    "nexa.channels.evolution.adapter",
    "nexa.channels.telegram.adapter",
)


def register(adapter: ChannelAdapter) -> ChannelAdapter:
    _ADAPTERS[adapter.channel_type] = adapter
    return adapter


def adapter_for(channel_type: ChannelType) -> ChannelAdapter | None:
    """The adapter for a provider-backed channel; None for channels Nexa serves itself (api, web widget)."""
    if not _ADAPTERS:
        _load()
    return _ADAPTERS.get(channel_type)


def _load() -> None:
    for module in CHANNEL_MODULES:
        importlib.import_module(module)
