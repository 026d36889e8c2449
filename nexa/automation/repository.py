from __future__ import annotations

from collections.abc import Sequence

from nexa.automation.models import AutomationRule
from nexa.tenancy.repository import AccountRepository


class AutomationRuleRepository(AccountRepository[AutomationRule]):
    model = AutomationRule

    async def ordered(self) -> Sequence[AutomationRule]:
        return await self.list(self.select().order_by(AutomationRule.id))

    async def active_for(self, event_name: str) -> Sequence[AutomationRule]:
        statement = self.select().where(AutomationRule.event_name == event_name, AutomationRule.active.is_(True))
        return await self.list(statement.order_by(AutomationRule.id))
