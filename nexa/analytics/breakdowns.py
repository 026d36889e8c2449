"""Chatwoot's per-entity reports: `summary_reports/{agent,team,inbox,label,channel}`, the live
`reports/conversations` counts, and the CSV exports built on the same rows.

Each number is one grouped aggregate query per metric over the whole account (never a query per agent
or inbox), bounded by account and time on indexed columns, like nexa.analytics.reports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.analytics.models import ReportingEvent, ReportingEventName
from nexa.analytics.schemas import AgentLiveCounts, ChannelCounts, EntitySummary, LiveCounts, LiveMetric
from nexa.auth.models import AccountUser, Availability, User
from nexa.conversations.models import Conversation, ConversationLabel, ConversationStatus
from nexa.inboxes.models import Inbox
from nexa.inboxes.serializers import CHATWOOT_CHANNEL_CLASS
from nexa.labels.models import Label
from nexa.teams.models import Team

Entity = Literal["agent", "team", "inbox", "label"]
_AVERAGES: dict[str, ReportingEventName] = {
    "avg_resolution_time": ReportingEventName.conversation_resolved,
    "avg_first_response_time": ReportingEventName.first_response,
    "avg_reply_time": ReportingEventName.reply_time,
}


def _conversations_by(entity: Entity, account_id: int) -> tuple[Select[Any], ColumnElement[Any]]:
    """Conversations of the account with the column naming each one's agent, team, inbox or label."""
    statement = select().select_from(Conversation).where(Conversation.account_id == account_id)
    if entity == "label":
        return statement.join(ConversationLabel, ConversationLabel.conversation_id == Conversation.id), ConversationLabel.title
    return statement, {"agent": Conversation.assignee_id, "team": Conversation.team_id, "inbox": Conversation.inbox_id}[entity]


def _events_by(entity: Entity, account_id: int, name: ReportingEventName) -> tuple[Select[Any], ColumnElement[Any]]:
    """Reporting events of one kind, keyed like _conversations_by (teams and labels through the conversation)."""
    base = select().select_from(ReportingEvent).where(ReportingEvent.account_id == account_id, ReportingEvent.name == name)
    if entity == "agent":
        return base, ReportingEvent.user_id
    if entity == "inbox":
        return base, ReportingEvent.inbox_id
    if entity == "team":
        return base.join(Conversation, Conversation.id == ReportingEvent.conversation_id), Conversation.team_id
    return base.join(ConversationLabel, ConversationLabel.conversation_id == ReportingEvent.conversation_id), ConversationLabel.title


async def _grouped(session: AsyncSession, statement: Select[Any], key: ColumnElement[Any], value: ColumnElement[Any]) -> dict[Any, Any]:
    rows = await session.execute(statement.with_only_columns(key, value).group_by(key))
    return {k: v for k, v in rows.all() if k is not None}


async def _entities(session: AsyncSession, entity: Entity, account_id: int) -> list[tuple[int, Any, str]]:
    """(id, grouping key, name) of every agent, team, inbox or label of the account, in name order."""
    if entity == "agent":
        rows = await session.execute(
            select(User.id, User.id, User.name).join(AccountUser, AccountUser.user_id == User.id)
            .where(AccountUser.account_id == account_id).order_by(User.name, User.id)
        )
    elif entity == "label":
        rows = await session.execute(
            select(Label.id, Label.title, Label.title).where(Label.account_id == account_id).order_by(Label.title)
        )
    else:
        model = Team if entity == "team" else Inbox
        rows = await session.execute(
            select(model.id, model.id, model.name).where(model.account_id == account_id).order_by(model.name, model.id)
        )
    return [(row[0], row[1], row[2]) for row in rows.all()]


async def entity_summaries(
    session: AsyncSession, entity: Entity, account_id: int, since: datetime, until: datetime, *, business_hours: bool
) -> list[tuple[str, EntitySummary]]:
    """Each agent's (team's, inbox's, label's) numbers for conversations and events in [since, until),
    with its name (for the CSV exports). Averages in seconds, null when nothing was measured."""
    conversations, key = _conversations_by(entity, account_id)
    window = (Conversation.created_at >= since, Conversation.created_at < until)
    counts = await _grouped(session, conversations.where(*window), key, func.count(Conversation.id))
    value = ReportingEvent.value_in_business_hours if business_hours else ReportingEvent.value
    in_window = (ReportingEvent.created_at >= since, ReportingEvent.created_at < until)
    resolved_rows, resolved_key = _events_by(entity, account_id, ReportingEventName.conversation_resolved)
    resolved = await _grouped(session, resolved_rows.where(*in_window), resolved_key, func.count(ReportingEvent.id))
    averages: dict[str, dict[Any, Any]] = {}
    for field, name in _AVERAGES.items():
        rows, event_key = _events_by(entity, account_id, name)
        averages[field] = await _grouped(session, rows.where(*in_window), event_key, func.avg(value))
    result = []
    for id_, group, name in await _entities(session, entity, account_id):
        result.append((name, EntitySummary(
            id=id_,
            conversations_count=int(counts.get(group, 0)),
            resolved_conversations_count=int(resolved.get(group, 0)),
            **{field: _seconds(found.get(group)) for field, found in averages.items()},
        )))
    return result


def _seconds(value: Any) -> float | None:
    return float(value) if value is not None else None


async def channel_summary(session: AsyncSession, account_id: int, since: datetime, until: datetime) -> dict[str, ChannelCounts]:
    """Conversations created in [since, until) per channel type ("Channel::Whatsapp"...), by status."""
    statement = (
        select(Inbox.channel_type, Conversation.status, func.count(Conversation.id))
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .where(Conversation.account_id == account_id, Conversation.created_at >= since, Conversation.created_at < until)
        .group_by(Inbox.channel_type, Conversation.status)
    )
    by_channel: dict[str, dict[str, int]] = {}
    for channel_type, status, count in (await session.execute(statement)).all():
        counts = by_channel.setdefault(CHATWOOT_CHANNEL_CLASS[channel_type], {})
        counts[status.value] = counts.get(status.value, 0) + int(count)
    return {
        channel: ChannelCounts(**{s.value: counts.get(s.value, 0) for s in ConversationStatus}, total=sum(counts.values()))
        for channel, counts in sorted(by_channel.items())
    }


# --- live counts ------------------------------------------------------------------------------------------


def _unattended() -> ColumnElement[bool]:
    # Chatwoot's `unattended` scope: no human reply yet, or the customer wrote again since the last one.
    return or_(Conversation.first_reply_created_at.is_(None), Conversation.waiting_since.is_not(None))


async def account_live_counts(session: AsyncSession, account_id: int) -> LiveCounts:
    """Right now: open conversations, those unattended, those unassigned, and those with the bot (pending)."""
    is_open = Conversation.status == ConversationStatus.open
    statement = select(
        func.count().filter(is_open),
        func.count().filter(is_open, _unattended()),
        func.count().filter(is_open, Conversation.assignee_id.is_(None)),
        func.count().filter(Conversation.status == ConversationStatus.pending),
    ).where(Conversation.account_id == account_id)
    open_, unattended, unassigned, pending = (await session.execute(statement)).one()
    return LiveCounts(open=open_, unattended=unattended, unassigned=unassigned, pending=pending)


async def agent_live_counts(
    session: AsyncSession, account_id: int, availability: Mapping[int, Availability], user_id: int | None = None
) -> list[AgentLiveCounts]:
    """Each agent's open and unattended conversations right now, busiest first (Chatwoot's order)."""
    is_open = (Conversation.account_id == account_id, Conversation.status == ConversationStatus.open)
    counts = await session.execute(
        select(Conversation.assignee_id, func.count(), func.count().filter(_unattended()))
        .where(*is_open, Conversation.assignee_id.is_not(None)).group_by(Conversation.assignee_id)
    )
    load = {assignee: (int(n), int(unattended)) for assignee, n, unattended in counts.all()}
    members = select(User).join(AccountUser, AccountUser.user_id == User.id).where(AccountUser.account_id == account_id)
    if user_id is not None:
        members = members.where(User.id == user_id)
    agents: Sequence[User] = (await session.scalars(members.order_by(User.id))).all()
    rows = [
        AgentLiveCounts(
            id=user.id, name=user.name, email=user.email, thumbnail="",  # no user avatars yet
            availability=availability.get(user.id, Availability.offline).value,
            metric=LiveMetric(open=load.get(user.id, (0, 0))[0], unattended=load.get(user.id, (0, 0))[1]),
        )
        for user in agents
    ]
    return sorted(rows, key=lambda row: row.metric.open, reverse=True)


# --- CSV --------------------------------------------------------------------------------------------------

_CSV_NAME_COLUMN = {"agent": "Agent name", "team": "Team name", "inbox": "Inbox name", "label": "Label title"}


def summaries_csv(entity: Entity, rows: Sequence[tuple[str, EntitySummary]]) -> str:
    """Chatwoot's report export columns; times in seconds (Chatwoot writes them as words, which no
    spreadsheet can add up)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([
        _CSV_NAME_COLUMN[entity], "Conversations count", "Avg first response time", "Avg resolution time",
        "Avg reply time", "Resolution count",
    ])
    for name, summary in rows:
        writer.writerow([
            name, summary.conversations_count, _cell(summary.avg_first_response_time),
            _cell(summary.avg_resolution_time), _cell(summary.avg_reply_time), summary.resolved_conversations_count,
        ])
    return out.getvalue()


def _cell(seconds: float | None) -> str:
    return "" if seconds is None else str(round(seconds))
