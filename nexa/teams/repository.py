from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select

from nexa.teams.models import Team, TeamMember
from nexa.tenancy.repository import AccountRepository


class TeamRepository(AccountRepository[Team]):
    model = Team

    async def get_by_name(self, name: str) -> Team | None:
        return await self.session.scalar(self.select().where(func.lower(Team.name) == name.lower()))

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Team]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        return {team.id: team for team in await self.list(self.select().where(Team.id.in_(wanted)))}

    async def ordered(self) -> Sequence[Team]:
        return await self.list(self.select().order_by(Team.name))


class TeamMemberRepository(AccountRepository[TeamMember]):
    model = TeamMember

    async def user_ids(self, team_id: int) -> list[int]:
        statement = select(TeamMember.user_id).where(
            TeamMember.account_id == self.account_id, TeamMember.team_id == team_id
        )
        return sorted((await self.session.scalars(statement)).all())

    async def teams_of_user(self, user_id: int) -> set[int]:
        statement = select(TeamMember.team_id).where(
            TeamMember.account_id == self.account_id, TeamMember.user_id == user_id
        )
        return set((await self.session.scalars(statement)).all())

    async def add_users(self, team_id: int, user_ids: Iterable[int]) -> list[int]:
        present = set(await self.user_ids(team_id))
        added = sorted(set(user_ids) - present)
        for user_id in added:
            await self.add(TeamMember(team_id=team_id, user_id=user_id))
        return added

    async def remove_users(self, team_id: int, user_ids: Iterable[int]) -> None:
        await self.session.execute(
            delete(TeamMember).where(
                TeamMember.account_id == self.account_id,
                TeamMember.team_id == team_id,
                TeamMember.user_id.in_(list(user_ids)),
            )
        )
