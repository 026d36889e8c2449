from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.auth.repository import MembershipRepository
from nexa.teams import service
from nexa.teams.agents import AgentOut, agent_out, memberships_of
from nexa.teams.repository import TeamMemberRepository, TeamRepository
from nexa.teams.schemas import TeamCreate, TeamOut, TeamUpdate, UserIds
from nexa.teams.serializers import team_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/teams", tags=["teams"])

TeamsRead = Annotated[AccountContext, Depends(authorize("agents:read"))]
TeamsAdmin = Annotated[AccountContext, Depends(authorize("agents:write", admin=True))]


async def _my_team_ids(session: AsyncSession, ctx: AccountContext) -> set[int]:
    if ctx.user is None:
        return set()
    return await TeamMemberRepository(session, ctx.account_id).teams_of_user(ctx.user.id)


async def _agents(session: AsyncSession, account_id: int, user_ids: list[int]) -> list[AgentOut]:
    memberships = await memberships_of(MembershipRepository(session, account_id), user_ids)
    return [agent_out(m) for m in memberships]


@router.get("", response_model=list[TeamOut])
async def list_teams(ctx: TeamsRead, session: DbSession) -> list[TeamOut]:
    mine = await _my_team_ids(session, ctx)
    return [team_out(t, is_member=t.id in mine) for t in await TeamRepository(session, ctx.account_id).ordered()]


@router.post("", response_model=TeamOut)
async def create_team(body: TeamCreate, ctx: TeamsAdmin, session: DbSession) -> TeamOut:
    return team_out(await service.create_team(session, ctx.account_id, body), is_member=False)


@router.get("/{team_id}", response_model=TeamOut)
async def show_team(team_id: int, ctx: TeamsRead, session: DbSession) -> TeamOut:
    team = await TeamRepository(session, ctx.account_id).get_or_404(team_id)
    return team_out(team, is_member=team.id in await _my_team_ids(session, ctx))


@router.patch("/{team_id}", response_model=TeamOut)
async def update_team(team_id: int, body: TeamUpdate, ctx: TeamsAdmin, session: DbSession) -> TeamOut:
    team = await TeamRepository(session, ctx.account_id).get_or_404(team_id)
    team = await service.update_team(session, ctx.account_id, team, body)
    return team_out(team, is_member=team.id in await _my_team_ids(session, ctx))


@router.delete("/{team_id}", status_code=200, response_class=Response)
async def delete_team(team_id: int, ctx: TeamsAdmin, session: DbSession) -> Response:
    repository = TeamRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(team_id))
    return Response(status_code=200)


@router.get("/{team_id}/team_members", response_model=list[AgentOut])
async def list_team_members(team_id: int, ctx: TeamsRead, session: DbSession) -> list[AgentOut]:
    team = await TeamRepository(session, ctx.account_id).get_or_404(team_id)
    return await _agents(session, ctx.account_id, await TeamMemberRepository(session, ctx.account_id).user_ids(team.id))


@router.post("/{team_id}/team_members", response_model=list[AgentOut])
async def add_team_members(team_id: int, body: UserIds, ctx: TeamsAdmin, session: DbSession) -> list[AgentOut]:
    """Adds the agents; answers with the ones that were added (Chatwoot's response)."""
    team = await TeamRepository(session, ctx.account_id).get_or_404(team_id)
    added = await service.add_members(session, ctx.account_id, team, body.user_ids)
    return await _agents(session, ctx.account_id, added)


@router.patch("/{team_id}/team_members", response_model=list[AgentOut])
async def replace_team_members(team_id: int, body: UserIds, ctx: TeamsAdmin, session: DbSession) -> list[AgentOut]:
    """Makes the team exactly these agents."""
    team = await TeamRepository(session, ctx.account_id).get_or_404(team_id)
    members = await service.replace_members(session, ctx.account_id, team, body.user_ids)
    return await _agents(session, ctx.account_id, members)


@router.delete("/{team_id}/team_members", status_code=200, response_class=Response)
async def remove_team_members(team_id: int, body: UserIds, ctx: TeamsAdmin, session: DbSession) -> Response:
    team = await TeamRepository(session, ctx.account_id).get_or_404(team_id)
    await service.remove_members(session, ctx.account_id, team, body.user_ids)
    return Response(status_code=200)
