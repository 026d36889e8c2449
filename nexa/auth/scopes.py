"""API token scopes. A token without scopes has everything its owner has; `x:write` implies `x:read`."""

from __future__ import annotations

RESOURCES = ("account", "agents", "contacts", "conversations", "inboxes", "reports", "webhooks", "tokens", "knowledge")
SCOPES = frozenset(f"{resource}:{level}" for resource in RESOURCES for level in ("read", "write"))


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}; known: {', '.join(sorted(SCOPES))}")
    return sorted(set(scopes))


def grants(granted: list[str] | None, required: str) -> bool:
    if granted is None:
        return True
    resource, _, level = required.partition(":")
    return required in granted or (level == "read" and f"{resource}:write" in granted)
