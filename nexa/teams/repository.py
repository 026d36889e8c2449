from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from nexa.teams.models import Team, TeamMember
from nexa.tenancy.repository import AccountRepository, MemberSetRepository


class TeamRepository(AccountRepository[Team]):
    model = Team

    async def get_by_name(self, name: str) -> Team | None:
        return await self.session.scalar(self.select().where(func.lower(Team.name) == name.lower()))

    async def ordered(self) -> Sequence[Team]:
        return await self.list(self.select().order_by(Team.name))


class TeamMemberRepository(MemberSetRepository[TeamMember]):
    model = TeamMember
    group_column = "team_id"

    async def teams_of_user(self, user_id: int) -> set[int]:
        statement = select(TeamMember.team_id).where(
            TeamMember.account_id == self.account_id, TeamMember.user_id == user_id
        )
        return set((await self.session.scalars(statement)).all())
