from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.repository import MembershipRepository
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.teams.agents import require_members
from nexa.teams.models import Team
from nexa.teams.repository import TeamMemberRepository, TeamRepository
from nexa.teams.schemas import TeamCreate, TeamUpdate


async def create_team(session: AsyncSession, account_id: int, params: TeamCreate) -> Team:
    repository = TeamRepository(session, account_id)
    name = await _checked_name(repository, params.name)
    team = Team(name=name, description=params.description, allow_auto_assign=params.allow_auto_assign)
    return await repository.add(team)


async def update_team(session: AsyncSession, account_id: int, team: Team, params: TeamUpdate) -> Team:
    changes = params.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        team.name = await _checked_name(TeamRepository(session, account_id), changes["name"], current=team)
    if "description" in changes:
        team.description = changes["description"]
    if changes.get("allow_auto_assign") is not None:
        team.allow_auto_assign = changes["allow_auto_assign"]
    await session.flush()
    return team


async def add_members(session: AsyncSession, account_id: int, team: Team, user_ids: list[int]) -> list[int]:
    """Adds agents to the team; returns the ids that were not members yet."""
    ids = await require_members(MembershipRepository(session, account_id), user_ids)
    return await TeamMemberRepository(session, account_id).add_users(team.id, ids)


async def replace_members(session: AsyncSession, account_id: int, team: Team, user_ids: list[int]) -> list[int]:
    ids = await require_members(MembershipRepository(session, account_id), user_ids)
    return await TeamMemberRepository(session, account_id).replace_users(team.id, ids)


async def remove_members(session: AsyncSession, account_id: int, team: Team, user_ids: list[int]) -> None:
    await TeamMemberRepository(session, account_id).remove_users(team.id, user_ids)


async def _checked_name(repository: TeamRepository, raw: str, current: Team | None = None) -> str:
    # Chatwoot stores team names lower-cased; uniqueness is therefore case-insensitive.
    name = raw.strip().lower()
    if not name:
        raise ValidationFailed(_("Name can't be blank"), ["name"])
    existing = await repository.get_by_name(name)
    if existing is not None and existing is not current:
        raise ValidationFailed(_("Name has already been taken"), ["name"])
    return name
