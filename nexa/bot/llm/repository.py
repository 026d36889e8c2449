from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from nexa.bot.llm.models import LLMConfig, LLMUsage
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

    async def tokens_of_conversation(self, conversation_id: int) -> int:
        statement = select(func.coalesce(func.sum(LLMUsage.total_tokens), 0)).where(
            LLMUsage.account_id == self.account_id, LLMUsage.conversation_id == conversation_id
        )
        return int(await self.session.scalar(statement) or 0)

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
