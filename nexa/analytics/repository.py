from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from nexa.analytics.models import ReportingEvent, ReportingEventName
from nexa.tenancy.repository import AccountRepository


class ReportingEventRepository(AccountRepository[ReportingEvent]):
    model = ReportingEvent

    async def exists(self, conversation_id: int, name: ReportingEventName) -> bool:
        statement = select(ReportingEvent.id).where(
            ReportingEvent.account_id == self.account_id,
            ReportingEvent.conversation_id == conversation_id,
            ReportingEvent.name == name,
        ).limit(1)
        return await self.session.scalar(statement) is not None

    async def latest_time(self, conversation_id: int, names: list[ReportingEventName]) -> datetime | None:
        statement = (
            select(ReportingEvent.event_end_time)
            .where(
                ReportingEvent.account_id == self.account_id,
                ReportingEvent.conversation_id == conversation_id,
                ReportingEvent.name.in_(names),
            )
            .order_by(ReportingEvent.id.desc())
            .limit(1)
        )
        return await self.session.scalar(statement)
