"""Reporting events: written by the conversation and message services at the moment things happen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.analytics.models import ReportingEvent, ReportingEventName
from nexa.analytics.repository import ReportingEventRepository
from nexa.inboxes.models import Inbox
from nexa.inboxes.working_hours import business_seconds


async def record(
    session: AsyncSession,
    name: ReportingEventName,
    *,
    account_id: int,
    conversation_id: int,
    inbox: Inbox,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> ReportingEvent:
    """One event measuring the span start..end, in wall-clock seconds and in the inbox's business hours."""
    event = ReportingEvent(
        name=name,
        value=max((end - start).total_seconds(), 0.0),
        value_in_business_hours=business_seconds(inbox, start, end),
        inbox_id=inbox.id,
        user_id=user_id,
        conversation_id=conversation_id,
        event_start_time=start,
        event_end_time=end,
        created_at=end,
    )
    return await ReportingEventRepository(session, account_id).add(event)


async def last_non_human_activity(session: AsyncSession, account_id: int, conversation_id: int, created_at: datetime) -> datetime:
    """Where a first response is measured from: the latest handoff or reopening, else a bot resolution,
    else the conversation's start. Time the bot spent is therefore not counted against agents (Chatwoot)."""
    events = ReportingEventRepository(session, account_id)
    handed_over = await events.latest_time(
        conversation_id, [ReportingEventName.conversation_bot_handoff, ReportingEventName.conversation_opened]
    )
    if handed_over is not None:
        return handed_over
    return await events.latest_time(conversation_id, [ReportingEventName.conversation_bot_resolved]) or created_at
