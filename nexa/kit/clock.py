"""The one source of "now": timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def from_unix(value: float | int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None
