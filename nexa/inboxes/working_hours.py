"""An inbox's business hours: whether it is open now, and how much of a span fell inside them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nexa.inboxes.models import Inbox

# Beyond a year a response time is an outlier either way; stop counting instead of looping for ages.
_MAX_DAYS = 366


def _chatwoot_weekday(day: date) -> int:
    # Chatwoot numbers days 0=Sunday..6=Saturday; Python's weekday() is 0=Monday.
    return (day.weekday() + 1) % 7


def _open_interval(inbox: Inbox, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    setting: dict[str, Any] | None = next(
        (d for d in inbox.working_hours if d.get("day_of_week") == _chatwoot_weekday(day)), None
    )
    if setting is None or setting.get("closed_all_day"):
        return None
    if setting.get("open_all_day"):
        opens, closes = time(0, 0), None
    else:
        opens = time(int(setting.get("open_hour") or 0), int(setting.get("open_minutes") or 0))
        close_hour = int(setting.get("close_hour") or 0)
        closes = None if close_hour >= 24 else time(close_hour, int(setting.get("close_minutes") or 0))
    start = datetime.combine(day, opens, zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), zone) if closes is None else datetime.combine(day, closes, zone)
    return (start, end) if end > start else None


def is_open(inbox: Inbox, at: datetime) -> bool:
    """True when `at` is inside working hours, or the inbox does not use working hours."""
    if not inbox.working_hours_enabled:
        return True
    zone = ZoneInfo(inbox.timezone)
    local = at.astimezone(zone)
    interval = _open_interval(inbox, local.date(), zone)
    return interval is not None and interval[0] <= local < interval[1]


def business_seconds(inbox: Inbox, start: datetime, end: datetime) -> float:
    """Seconds of [start, end) inside working hours; 0 when working hours are off (as Chatwoot reports it)."""
    if not inbox.working_hours_enabled or end <= start:
        return 0.0
    zone = ZoneInfo(inbox.timezone)
    day = start.astimezone(zone).date()
    last = min(end.astimezone(zone).date(), day + timedelta(days=_MAX_DAYS))
    total = 0.0
    while day <= last:
        interval = _open_interval(inbox, day, zone)
        if interval is not None:
            overlap = (min(end, interval[1]) - max(start, interval[0])).total_seconds()
            total += max(overlap, 0.0)
        day += timedelta(days=1)
    return total
