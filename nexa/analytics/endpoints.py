"""Chatwoot's v2 reports under /api/v2/accounts/{account_id}: reports[/summary|/bot_summary|/conversations],
the CSV exports reports/{agents,teams,inboxes,labels}.csv, and summary_reports/{agent,team,inbox,label,channel}."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from nexa.analytics import breakdowns, reports
from nexa.analytics.schemas import (
    AgentLiveCounts,
    BotSummary,
    ChannelCounts,
    EntitySummary,
    GroupBy,
    LiveCounts,
    Metric,
    ReportType,
    Summary,
    TimeseriesPoint,
)
from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.kit.clock import from_unix, utcnow
from nexa.kit.errors import NotFound, UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.realtime.presence import account_availability

router = APIRouter(prefix="/api/v2/accounts/{account_id}", tags=["reports"])

ReportsRead = Annotated[AccountContext, Depends(authorize("reports:read", admin=True))]
# Unix seconds; bounded so a typo cannot ask for year 30000 (datetime overflow) or scan from 1970.
UnixTime = Annotated[int | None, Query(ge=0, le=4_102_444_800, description="Unix seconds")]
DEFAULT_RANGE = timedelta(days=7)


def _range(since: int | None, until: int | None) -> tuple[datetime, datetime]:
    end = from_unix(until) if until is not None else utcnow()
    start = from_unix(since) if since is not None else end - DEFAULT_RANGE
    assert start is not None and end is not None
    if start >= end:
        raise UnprocessableEntity(_("since must be before until"))
    return start, end


async def _period(since: UnixTime = None, until: UnixTime = None) -> tuple[datetime, datetime]:
    """The time range of a report: `since` and `until`, the last 7 days by default."""
    return _range(since, until)


Period = Annotated[tuple[datetime, datetime], Depends(_period)]


@dataclass(frozen=True)
class _Window:
    scope: reports.Scope
    start: datetime
    end: datetime


async def _window(
    ctx: ReportsRead, session: DbSession, period: Period, type: ReportType = "account", id: int | None = None
) -> _Window:
    """What every report is about (`type` and `id`) and over which time range (`since`, `until`)."""
    scope = await reports.resolve_scope(session, ctx.account_id, type, id)
    return _Window(scope, *period)


Window = Annotated[_Window, Depends(_window)]


def _offset_minutes(timezone_offset: float) -> int:
    return round(timezone_offset * 60)


@router.get("/reports/summary", response_model=Summary)
async def summary(
    window: Window,
    session: DbSession,
    business_hours: bool = False,
    timezone_offset: Annotated[float, Query(ge=-14, le=14, description="Hours east of UTC")] = 0,
) -> Summary:
    """Totals of the window and of the window of equal length before it (`previous`)."""
    scope, start, end = window.scope, window.start, window.end
    current, previous = await reports.summaries(
        session, scope, [(start, end), (start - (end - start), start)], business_hours=business_hours
    )
    return Summary(**current.model_dump(), previous=previous)


@router.get("/reports/bot_summary", response_model=BotSummary)
async def bot_summary(window: Window, session: DbSession) -> BotSummary:
    """Conversations the bot resolved alone, and those it handed to humans."""
    return await reports.bot_summary(session, window.scope, window.start, window.end)


@router.get("/reports", response_model=list[TimeseriesPoint])
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


@router.get("/reports/conversations", response_model=LiveCounts | list[AgentLiveCounts])
async def live_conversations(
    ctx: ReportsRead,
    session: DbSession,
    runtime: RuntimeDep,
    type: Literal["account", "agent"],
    user_id: int | None = None,
) -> LiveCounts | list[AgentLiveCounts]:
    """Right now, not over a range: `type=account` gives `{open, unattended, unassigned, pending}`;
    `type=agent` one row per agent (or only `user_id`) with `metric: {open, unattended}`, busiest first."""
    if type == "account":
        return await breakdowns.account_live_counts(session, ctx.account_id)
    availability = await account_availability(runtime, ctx.account_id)
    if user_id is not None and user_id not in availability:
        raise NotFound()
    return await breakdowns.agent_live_counts(session, ctx.account_id, availability, user_id)


@router.get("/summary_reports/channel", response_model=dict[str, ChannelCounts])
async def channel_summary(ctx: ReportsRead, session: DbSession, period: Period) -> dict[str, ChannelCounts]:
    """Conversations created in the range per channel type (`Channel::Whatsapp`...), by status."""
    return await breakdowns.channel_summary(session, ctx.account_id, *period)


@router.get("/summary_reports/{entity}", response_model=list[EntitySummary])
async def entity_summary(
    entity: breakdowns.Entity, ctx: ReportsRead, session: DbSession, period: Period, business_hours: bool = False
) -> list[EntitySummary]:
    """One row per agent, team, inbox or label of the account: conversations created and resolved in the
    range, and the average resolution, first response and reply times (seconds, null when none)."""
    rows = await breakdowns.entity_summaries(session, entity, ctx.account_id, *period, business_hours=business_hours)
    return [summary for _, summary in rows]


_CSV_EXPORTS: dict[str, breakdowns.Entity] = {"agents": "agent", "teams": "team", "inboxes": "inbox", "labels": "label"}


@router.get(
    "/reports/{export}.csv", response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The report as CSV"}},
)
async def csv_export(
    export: Literal["agents", "teams", "inboxes", "labels"], ctx: ReportsRead, session: DbSession, period: Period,
    business_hours: bool = False,
) -> Response:
    """The summary report of every agent (team, inbox, label) as a CSV file, as Chatwoot's report downloads."""
    entity = _CSV_EXPORTS[export]
    rows = await breakdowns.entity_summaries(session, entity, ctx.account_id, *period, business_hours=business_hours)
    return Response(
        breakdowns.summaries_csv(entity, rows), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export}_report.csv"'},
    )
