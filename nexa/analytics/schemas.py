from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ReportType = Literal["account", "agent", "inbox", "label", "team"]
GroupBy = Literal["day", "week", "month"]
Metric = Literal[
    "conversations_count", "incoming_messages_count", "outgoing_messages_count", "avg_first_response_time",
    "avg_resolution_time", "resolutions_count", "reply_time", "bot_resolutions_count", "bot_handoffs_count",
]


class SummaryValues(BaseModel):
    """Counts, and averages in seconds (null when nothing was measured)."""

    conversations_count: int
    incoming_messages_count: int
    outgoing_messages_count: int
    avg_first_response_time: float | None
    avg_resolution_time: float | None
    resolutions_count: int
    reply_time: float | None


class Summary(SummaryValues):
    previous: SummaryValues


class BotSummary(BaseModel):
    bot_resolutions_count: int
    bot_handoffs_count: int


class TimeseriesPoint(BaseModel):
    value: float
    timestamp: int
    count: int


class EntitySummary(BaseModel):
    """One agent's, team's, inbox's or label's numbers (`summary_reports/{type}`); averages in seconds."""

    id: int
    conversations_count: int
    resolved_conversations_count: int
    avg_resolution_time: float | None
    avg_first_response_time: float | None
    avg_reply_time: float | None


class ChannelCounts(BaseModel):
    """Conversations created in the window on one channel type, by their status now."""

    open: int
    resolved: int
    pending: int
    snoozed: int
    total: int


class LiveCounts(BaseModel):
    """`reports/conversations?type=account`: open, open with no human reply yet (or the customer waiting
    again), open with nobody assigned, and with the bot (pending)."""

    open: int
    unattended: int
    unassigned: int
    pending: int


class LiveMetric(BaseModel):
    open: int
    unattended: int


class AgentLiveCounts(BaseModel):
    """`reports/conversations?type=agent`: one row per agent."""

    id: int
    name: str
    email: str
    thumbnail: str
    availability: str
    metric: LiveMetric
