"""Chatwoot's reports (v2): summary, bot summary and timeseries.

Every number is one aggregate bounded by account and time on an indexed `created_at` (conversations,
messages, reporting_events), and a summary sends all of its aggregates as one statement; nothing is
computed row by row in Python. Averages come
from reporting events (first_response, conversation_resolved, reply_time), so bot time is already
excluded where Chatwoot excludes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.analytics.models import ReportingEvent, ReportingEventName
from nexa.analytics.schemas import BotSummary, GroupBy, Metric, ReportType, SummaryValues, TimeseriesPoint
from nexa.auth.models import AccountUser
from nexa.conversations.models import Conversation, ConversationLabel, Message, MessageType, SenderType
from nexa.db.dialect import local_bucket
from nexa.inboxes.models import Inbox
from nexa.kit.errors import NotFound, UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.labels.models import Label
from nexa.teams.models import Team

_EVENT_METRICS: dict[str, tuple[ReportingEventName, bool]] = {
    # metric -> (reporting event, averaged?)
    "avg_first_response_time": (ReportingEventName.first_response, True),
    "avg_resolution_time": (ReportingEventName.conversation_resolved, True),
    "reply_time": (ReportingEventName.reply_time, True),
    "resolutions_count": (ReportingEventName.conversation_resolved, False),
    "bot_resolutions_count": (ReportingEventName.conversation_bot_resolved, False),
    "bot_handoffs_count": (ReportingEventName.conversation_bot_handoff, False),
}
MAX_POINTS = 400


@dataclass(frozen=True)
class Scope:
    """Whose numbers: the account, or one agent, inbox, team or label of it."""

    account_id: int
    type: ReportType = "account"
    id: int | None = None
    label_title: str | None = None

    def conversation_ids(self) -> Select[tuple[int]] | None:
        base = select(Conversation.id).where(Conversation.account_id == self.account_id)
        if self.type == "team":
            return base.where(Conversation.team_id == self.id)
        if self.type == "label":
            return select(ConversationLabel.conversation_id).where(
                ConversationLabel.account_id == self.account_id, ConversationLabel.title == self.label_title
            )
        return None


async def resolve_scope(session: AsyncSession, account_id: int, type_: ReportType, id_: int | None) -> Scope:
    """The scope, after checking that its id is this account's (another account's id is a 404)."""
    if type_ == "account":
        return Scope(account_id)
    if id_ is None:
        raise UnprocessableEntity(_("id is required for type %(type)s", type=type_))
    if type_ == "agent":
        found = await session.scalar(
            select(AccountUser.id).where(AccountUser.account_id == account_id, AccountUser.user_id == id_)
        )
        if found is None:
            raise NotFound()
        return Scope(account_id, type_, id_)
    model = {"inbox": Inbox, "team": Team, "label": Label}[type_]
    row = await session.scalar(select(model).where(model.account_id == account_id, model.id == id_))
    if row is None:
        raise NotFound()
    return Scope(account_id, type_, id_, label_title=row.title if isinstance(row, Label) else None)


def _source(metric: Metric, scope: Scope, business_hours: bool) -> tuple[Select[Any], ColumnElement[Any]]:
    """The rows a metric aggregates, with their time column; the value column is labelled `v`."""
    conversation_ids = scope.conversation_ids()
    if metric in _EVENT_METRICS:
        name, averaged = _EVENT_METRICS[metric]
        value = ReportingEvent.value_in_business_hours if business_hours else ReportingEvent.value
        statement = select(value.label("v") if averaged else ReportingEvent.id.label("v")).where(
            ReportingEvent.account_id == scope.account_id, ReportingEvent.name == name
        )
        if scope.type == "agent":
            statement = statement.where(ReportingEvent.user_id == scope.id)
        elif scope.type == "inbox":
            statement = statement.where(ReportingEvent.inbox_id == scope.id)
        elif conversation_ids is not None:
            statement = statement.where(ReportingEvent.conversation_id.in_(conversation_ids))
        return statement, ReportingEvent.created_at
    if metric == "conversations_count":
        statement = select(Conversation.id.label("v")).where(Conversation.account_id == scope.account_id)
        if scope.type == "agent":
            statement = statement.where(Conversation.assignee_id == scope.id)
        elif scope.type == "inbox":
            statement = statement.where(Conversation.inbox_id == scope.id)
        elif conversation_ids is not None:
            statement = statement.where(Conversation.id.in_(conversation_ids))
        return statement, Conversation.created_at
    incoming = metric == "incoming_messages_count"
    statement = select(Message.id.label("v")).where(
        Message.account_id == scope.account_id,
        Message.message_type == (MessageType.incoming if incoming else MessageType.outgoing),
        Message.private.is_(False),
    )
    if scope.type == "agent" and not incoming:
        statement = statement.where(Message.sender_type == SenderType.user, Message.sender_id == scope.id)
    elif scope.type == "agent":
        assigned = select(Conversation.id).where(
            Conversation.account_id == scope.account_id, Conversation.assignee_id == scope.id
        )
        statement = statement.where(Message.conversation_id.in_(assigned))
    elif scope.type == "inbox":
        statement = statement.where(Message.inbox_id == scope.id)
    elif conversation_ids is not None:
        statement = statement.where(Message.conversation_id.in_(conversation_ids))
    return statement, Message.created_at


def _averaged(metric: Metric) -> bool:
    return metric in _EVENT_METRICS and _EVENT_METRICS[metric][1]


def _aggregate(metric: Metric, scope: Scope, since: datetime, until: datetime, business_hours: bool) -> ScalarSelect[Any]:
    """One figure as a scalar subquery, so that a whole report is one statement (one round trip)."""
    rows, time = _source(metric, scope, business_hours)
    rows = rows.where(time >= since, time < until).subquery()
    # count(*), not count(v): counted rows' v is their never-null id, and without it the message and
    # conversation counts are index-only scans (see migration 0004).
    aggregate = func.avg(rows.c.v) if _averaged(metric) else func.count()
    return select(aggregate).select_from(rows).scalar_subquery()


async def _figures(
    session: AsyncSession, metrics: Sequence[Metric], scope: Scope, periods: Sequence[tuple[datetime, datetime]],
    business_hours: bool,
) -> list[dict[str, float | int | None]]:
    """`metrics` over each period, all in one statement: figures by metric, one dict per period."""
    columns = [
        _aggregate(metric, scope, since, until, business_hours) for since, until in periods for metric in metrics
    ]
    row = (await session.execute(select(*columns))).one()
    figures = []
    for index in range(len(periods)):
        values = row[index * len(metrics):(index + 1) * len(metrics)]
        figures.append({
            metric: (float(value) if value is not None else None) if _averaged(metric) else int(value or 0)
            for metric, value in zip(metrics, values, strict=True)
        })
    return figures


async def summaries(
    session: AsyncSession, scope: Scope, periods: Sequence[tuple[datetime, datetime]], *, business_hours: bool
) -> list[SummaryValues]:
    """The summary figures of each period (e.g. this month and the one before), in one statement."""
    metrics: list[Metric] = list(SummaryValues.model_fields)  # type: ignore[arg-type]
    return [SummaryValues(**values) for values in await _figures(session, metrics, scope, periods, business_hours)]


async def bot_summary(session: AsyncSession, scope: Scope, since: datetime, until: datetime) -> BotSummary:
    (values,) = await _figures(session, ["bot_resolutions_count", "bot_handoffs_count"], scope, [(since, until)], False)
    return BotSummary(**values)


async def timeseries(
    session: AsyncSession,
    metric: Metric,
    scope: Scope,
    since: datetime,
    until: datetime,
    *,
    group_by: GroupBy,
    offset_minutes: int,
    business_hours: bool,
) -> list[TimeseriesPoint]:
    """One point per local day, week (Monday) or month between since and until, empty ones included."""
    rows, time = _source(metric, scope, business_hours)
    bucket = local_bucket(time, group_by, offset_minutes)
    grouped = rows.add_columns(bucket.label("bucket")).where(time >= since, time < until).subquery()
    value = func.avg(grouped.c.v) if _averaged(metric) else func.count(grouped.c.v)
    statement = select(grouped.c.bucket, value, func.count(grouped.c.v)).group_by(grouped.c.bucket)
    found = {day: (float(v or 0), int(n)) for day, v, n in await session.execute(statement)}
    local = timedelta(minutes=offset_minutes)
    points = []
    for start in _buckets((since + local).date(), (until - timedelta(microseconds=1) + local).date(), group_by):
        value_, count = found.get(start.isoformat(), (0.0, 0))
        moment = datetime(start.year, start.month, start.day, tzinfo=UTC) - local
        points.append(TimeseriesPoint(value=value_, timestamp=int(moment.timestamp()), count=count))
    return points


def _buckets(first: Any, last: Any, group_by: GroupBy) -> list[Any]:
    if group_by == "week":
        first = first - timedelta(days=first.weekday())
    elif group_by == "month":
        first = first.replace(day=1)
    starts = []
    current = first
    while current <= last:
        starts.append(current)
        if len(starts) > MAX_POINTS:
            raise UnprocessableEntity(
                _(
                    "Too many points: choose a shorter range or a coarser group_by (max %(max_points)s)",
                    max_points=MAX_POINTS,
                )
            )
        if group_by == "day":
            current = current + timedelta(days=1)
        elif group_by == "week":
            current = current + timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts
