"""One member's notifications in one account: another user's row, like another account's, is not found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.notifications.models import Notification
from nexa.tenancy.repository import AccountRepository


class NotificationRepository(AccountRepository[Notification]):
    model = Notification

    def __init__(self, session: AsyncSession, account_id: int, user_id: int) -> None:
        super().__init__(session, account_id)
        self.user_id = user_id

    def select(self) -> Select[tuple[Notification]]:
        return super().select().where(Notification.user_id == self.user_id)

    def _visible(self, row: Notification) -> bool:
        return super()._visible(row) and row.user_id == self.user_id

    async def add(self, obj: Notification) -> Notification:
        obj.user_id = self.user_id
        return await super().add(obj)

    def newest_first(self) -> Select[tuple[Notification]]:
        return self.select().order_by(Notification.id.desc())

    async def counts(self) -> tuple[int, int]:
        """(unread, all) in one query."""
        unread = func.count().filter(Notification.read_at.is_(None))
        statement: Select[Any] = select(unread, func.count()).where(
            Notification.account_id == self.account_id, Notification.user_id == self.user_id
        )
        row = (await self.session.execute(statement)).one()
        return int(row[0]), int(row[1])

    async def mark_all_read(self, at: datetime, *, conversation_id: int | None = None) -> None:
        """Every unread notification, or only those about one conversation, read at `at`."""
        statement = update(Notification).where(
            Notification.account_id == self.account_id,
            Notification.user_id == self.user_id,
            Notification.read_at.is_(None),
        )
        if conversation_id is not None:
            statement = statement.where(Notification.conversation_id == conversation_id)
        await self.session.execute(statement.values(read_at=at).execution_options(synchronize_session=False))
