"""Spies shared by tests that check how chunked job kinds group their work."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


def record_chunk_sizes(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> list[int]:
    """Wrap `module.name`, a chunk's `(session, items)` writer, so that each call records how many items it
    got; the returned list fills as the writer runs."""
    sizes: list[int] = []
    writer = getattr(module, name)

    async def spied(session: Any, items: Any) -> Any:
        sizes.append(len(items))
        return await writer(session, items)

    monkeypatch.setattr(module, name, spied)
    return sizes
