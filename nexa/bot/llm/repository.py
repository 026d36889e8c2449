from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects import postgresql, sqlite

from nexa.bot.llm.models import LLMConfig, LLMUsage
from nexa.conversations.models import Conversation
from nexa.tenancy.repository import AccountRepository


class LLMConfigRepository(AccountRepository[LLMConfig]):
    model = LLMConfig

    async def current(self) -> LLMConfig | None:
        return await self.session.scalar(self.select())


class LLMUsageRepository(AccountRepository[LLMUsage]):
    model = LLMUsage

    async def tokens_on(self, day: date) -> int:
        statement = select(func.coalesce(func.sum(LLMUsage.total_tokens), 0)).where(
            LLMUsage.account_id == self.account_id, LLMUsage.day == day
        )
        return int(await self.session.scalar(statement) or 0)

    async def daily_totals(self, since: date) -> Sequence[Row[Any]]:
        """(day, calls, prompt_tokens, completion_tokens, total_tokens) per day from `since`, newest first."""
        statement = (
            select(
                LLMUsage.day, func.sum(LLMUsage.calls), func.sum(LLMUsage.prompt_tokens),
                func.sum(LLMUsage.completion_tokens), func.sum(LLMUsage.total_tokens),
            )
            .where(LLMUsage.account_id == self.account_id, LLMUsage.day >= since)
            .group_by(LLMUsage.day)
            .order_by(LLMUsage.day.desc())
        )
        return (await self.session.execute(statement)).all()

    async def top_conversations(self, since: date, limit: int) -> Sequence[Row[Any]]:
        """(conversation display id, calls, total_tokens) of the conversations that spent most since `since`."""
        total = func.sum(LLMUsage.total_tokens)
        statement = (
            select(Conversation.display_id, func.sum(LLMUsage.calls), total)
            .join(Conversation, Conversation.id == LLMUsage.conversation_id)
            .where(LLMUsage.account_id == self.account_id, LLMUsage.day >= since)
            .group_by(Conversation.display_id)
            .order_by(total.desc(), Conversation.display_id)
            .limit(limit)
        )
        return (await self.session.execute(statement)).all()

    async def record(
        self, *, day: date, conversation_id: int | None, prompt_tokens: int, completion_tokens: int, total_tokens: int
    ) -> None:
        """Add one call to the day's row of the conversation (one upsert, safe against a concurrent call)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(LLMUsage).values(
            account_id=self.account_id, conversation_id=conversation_id, day=day, calls=1,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, total_tokens=total_tokens,
        )
        excluded = statement.excluded
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[LLMUsage.account_id, LLMUsage.day, LLMUsage.conversation_id],
                set_={
                    "calls": LLMUsage.calls + 1,
                    "prompt_tokens": LLMUsage.prompt_tokens + excluded.prompt_tokens,
                    "completion_tokens": LLMUsage.completion_tokens + excluded.completion_tokens,
                    "total_tokens": LLMUsage.total_tokens + excluded.total_tokens,
                },
            )
        )
