"""Plans and their limits; an account's own `limits` override its plan's."""

from __future__ import annotations

from typing import Any

PLANS: dict[str, dict[str, int]] = {
    "free": {"inboxes": 3, "agents": 5, "knowledge_documents": 50, "knowledge_upload_mb": 10},
    "pro": {"inboxes": 20, "agents": 50, "knowledge_documents": 1000, "knowledge_upload_mb": 50},
    "unlimited": {},
}


def limit_for(plan: str, overrides: dict[str, Any], name: str) -> int | None:
    """The limit on `name`, or None for unlimited."""
    if name in overrides:
        return overrides[name]
    return PLANS.get(plan, {}).get(name)
