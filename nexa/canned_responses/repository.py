from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, or_

from nexa.canned_responses.models import CannedResponse
from nexa.kit.params import LIKE_ESCAPE, like_pattern
from nexa.tenancy.repository import AccountRepository


class CannedResponseRepository(AccountRepository[CannedResponse]):
    model = CannedResponse

    async def get_by_short_code(self, short_code: str) -> CannedResponse | None:
        return await self.session.scalar(self.select().where(CannedResponse.short_code == short_code))

    async def search(self, term: str | None) -> Sequence[CannedResponse]:
        """All of them, or those whose short code or content contains `term`; short-code matches first."""
        statement = self.select()
        if term:
            pattern = like_pattern(term)
            in_code = func.lower(CannedResponse.short_code).like(pattern, escape=LIKE_ESCAPE)
            statement = statement.where(or_(in_code, func.lower(CannedResponse.content).like(pattern, escape=LIKE_ESCAPE))).order_by(
                case((in_code, 0), else_=1)
            )
        return await self.list(statement.order_by(CannedResponse.short_code))
