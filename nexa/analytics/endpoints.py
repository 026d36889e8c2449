"""Chatwoot's v2 reports: /api/v2/accounts/{account_id}/reports[/summary|/bot_summary]."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from nexa.analytics import reports
from nexa.analytics.schemas import BotSummary, GroupBy, Metric, ReportType, Summary, TimeseriesPoint
from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.kit.clock import from_unix, utcnow
from nexa.kit.errors import UnprocessableEntity

router = APIRouter(prefix="/api/v2/accounts/{account_id}/reports", tags=["reports"])

ReportsRead = Annotated[AccountContext, Depends(authorize("reports:read", admin=True))]
# Unix seconds; bounded so a typo cannot ask for year 30000 (datetime overflow) or scan from 1970.
UnixTime = Annotated[int | None, Query(ge=0, le=4_102_444_800, description="Unix seconds")]
DEFAULT_RANGE = timedelta(days=7)


def _range(since: int | None, until: int | None) -> tuple[datetime, datetime]:
    end = from_unix(until) if until is not None else utcnow()
    start = from_unix(since) if since is not None else end - DEFAULT_RANGE
    assert start is not None and end is not None
    if start >= end:
        raise UnprocessableEntity("since must be before until")
    return start, end


@dataclass(frozen=True)
class _Window:
    scope: reports.Scope
    start: datetime
    end: datetime


async def _window(
    ctx: ReportsRead,
    session: DbSession,
    type: ReportType = "account",
    id: int | None = None,
    since: UnixTime = None,
    until: UnixTime = None,
) -> _Window:
    """What every report is about (`type` and `id`) and over which time range (`since`, `until`)."""
    scope = await reports.resolve_scope(session, ctx.account_id, type, id)
    start, end = _range(since, until)
    return _Window(scope, start, end)


Window = Annotated[_Window, Depends(_window)]


def _offset_minutes(timezone_offset: float) -> int:
    return round(timezone_offset * 60)


@router.get("/summary", response_model=Summary)
async def summary(
    window: Window,
    session: DbSession,
    business_hours: bool = False,
    timezone_offset: Annotated[float, Query(ge=-14, le=14, description="Hours east of UTC")] = 0,
) -> Summary:
    """Totals of the window and of the window of equal length before it (`previous`)."""
    scope, start, end = window.scope, window.start, window.end
    current = await reports.summary_values(session, scope, start, end, business_hours=business_hours)
    previous = await reports.summary_values(session, scope, start - (end - start), start, business_hours=business_hours)
    return Summary(**current.model_dump(), previous=previous)


@router.get("/bot_summary", response_model=BotSummary)
async def bot_summary(window: Window, session: DbSession) -> BotSummary:
    """Conversations the bot resolved alone, and those it handed to humans."""
    return await reports.bot_summary(session, window.scope, window.start, window.end)


@router.get("", response_model=list[TimeseriesPoint])
async def timeseries(
    window: Window,
    session: DbSession,
    metric: Metric,
    group_by: GroupBy = "day",
    business_hours: bool = False,
    timezone_offset: Annotated[float, Query(ge=-14, le=14, description="Hours east of UTC")] = 0,
) -> list[TimeseriesPoint]:
    """`[{value, timestamp, count}]`, one point per local day, week or month (empty ones are 0)."""
    return await reports.timeseries(
        session, metric, window.scope, window.start, window.end, group_by=group_by, offset_minutes=_offset_minutes(timezone_offset),
        business_hours=business_hours,
    )
