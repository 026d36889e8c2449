"""Chatwoot's /agents: the account's members as agents, and the invitation link an invited user accepts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from nexa.auth import members
from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize, request_origin
from nexa.auth.models import Role
from nexa.auth.repository import MembershipRepository
from nexa.auth.schemas import AgentBulkCreate, AgentCreate, AgentUpdate, InvitationAccept, InvitationAccepted
from nexa.auth.serializers import availability_status
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.realtime.presence import present_user_ids
from nexa.runtime import Runtime
from nexa.teams.agents import AgentOut, agent_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/agents", tags=["agents"])
invitations_router = APIRouter(prefix="/api/v1/auth/invitations", tags=["auth"])

AgentsRead = Annotated[AccountContext, Depends(authorize("agents:read"))]
AgentsAdmin = Annotated[AccountContext, Depends(authorize("agents:write", admin=True))]


class InvitedAgentOut(AgentOut):
    """Email sending is not built in: the administrator passes the link on to the invited user."""

    invitation_url: str | None = None


async def _invited_out(session: DbSession, runtime: Runtime, invited: members.Invited) -> InvitedAgentOut:
    await session.refresh(invited.membership, ["user"])
    token = invited.invitation_token
    url = f"{runtime.settings.base_url}/api/v1/auth/invitations/{token}" if token else None
    return InvitedAgentOut(**agent_out(invited.membership).model_dump(), invitation_url=url)


@router.get("", response_model=list[AgentOut])
async def list_agents(ctx: AgentsRead, session: DbSession, runtime: RuntimeDep) -> list[AgentOut]:
    """Every member, with availability_status as others see it (offline without a live socket)."""
    present = await present_user_ids(runtime, ctx.account_id)
    return [
        agent_out(membership).model_copy(update={"availability_status": availability_status(membership, present)})
        for membership in await MembershipRepository(session, ctx.account_id).with_users()
    ]


@router.post("", response_model=InvitedAgentOut)
async def create_agent(
    body: AgentCreate, ctx: AgentsAdmin, request: Request, session: DbSession, runtime: RuntimeDep
) -> InvitedAgentOut:
    """Invite by email. A new user gets a single-use `invitation_url` (valid 7 days) to set a password."""
    invited = await members.invite(
        session, ctx.account, name=body.name, email=body.email, role=body.role, availability=body.availability,
        auto_offline=body.auto_offline, inviter=ctx.membership, cipher=runtime.cipher, origin=request_origin(request),
    )
    return await _invited_out(session, runtime, invited)


@router.post("/bulk_create", response_model=list[InvitedAgentOut])
async def bulk_create_agents(
    body: AgentBulkCreate, ctx: AgentsAdmin, request: Request, session: DbSession, runtime: RuntimeDep
) -> list[InvitedAgentOut]:
    """Invite several emails as agents; emails already in the account are skipped."""
    invited_agents = []
    for email in dict.fromkeys(body.emails):
        if await members.is_member(session, ctx.account_id, email):
            continue
        invited = await members.invite(
            session, ctx.account, name="", email=email, role=Role.agent, availability=None, auto_offline=None,
            inviter=ctx.membership, cipher=runtime.cipher, origin=request_origin(request),
        )
        invited_agents.append(await _invited_out(session, runtime, invited))
    return invited_agents


@router.patch("/{user_id}", response_model=AgentOut)
async def update_agent(
    user_id: int, body: AgentUpdate, ctx: AgentsAdmin, request: Request, session: DbSession
) -> AgentOut:
    membership = await members.get_membership_or_404(session, ctx.account_id, user_id)
    await members.update_agent(
        session, membership, actor=ctx.membership, name=body.name, role=body.role, availability=body.availability,
        auto_offline=body.auto_offline, origin=request_origin(request),
    )
    return agent_out(membership)


@router.delete("/{user_id}", status_code=200, response_class=Response)
async def delete_agent(user_id: int, ctx: AgentsAdmin, request: Request, session: DbSession) -> Response:
    """Removes the member from the account (the user itself stays); their open conversations are unassigned."""
    membership = await members.get_membership_or_404(session, ctx.account_id, user_id)
    await members.remove_agent(session, membership, actor=ctx.membership, origin=request_origin(request))
    return Response(status_code=200)


@invitations_router.post("/{token}", response_model=InvitationAccepted)
async def accept_invitation(token: str, body: InvitationAccept, request: Request, session: DbSession) -> InvitationAccepted:
    """Set the password of an invited user (the link from POST /agents); then sign in as usual."""
    if body.password_confirmation is not None and body.password_confirmation != body.password:
        raise ValidationFailed(_("Password confirmation doesn't match Password"), ["password_confirmation"])
    user = await members.accept_invitation(session, token, body.password, origin=request_origin(request))
    return InvitationAccepted(id=user.id, email=user.email, name=user.name)
