from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.auth.repository import MembershipRepository
from nexa.inboxes import service, templates, webhook_setup
from nexa.inboxes.repository import InboxMemberRepository, InboxRepository
from nexa.inboxes.schemas import (
    AgentList,
    InboxCreate,
    InboxList,
    InboxMembersChange,
    InboxOut,
    InboxUpdate,
    TemplateSync,
    WebhookSetup,
)
from nexa.inboxes.serializers import inbox_out
from nexa.teams.agents import agent_out, memberships_of

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["inboxes"])

InboxesRead = Annotated[AccountContext, Depends(authorize("inboxes:read"))]
InboxesAdmin = Annotated[AccountContext, Depends(authorize("inboxes:write", admin=True))]


async def _agents(session: AsyncSession, account_id: int, user_ids: list[int]) -> AgentList:
    memberships = await memberships_of(MembershipRepository(session, account_id), user_ids)
    return AgentList(payload=[agent_out(m) for m in memberships])


@router.get("/inboxes", response_model=InboxList)
async def list_inboxes(ctx: InboxesRead, session: DbSession, runtime: RuntimeDep) -> InboxList:
    """Administrators see every inbox; agents see the inboxes they are members of."""
    only = None
    if not ctx.is_admin and ctx.user is not None:
        only = await InboxMemberRepository(session, ctx.account_id).inbox_ids_of_user(ctx.user.id)
    inboxes = await InboxRepository(session, ctx.account_id).ordered(only)
    return InboxList(payload=[inbox_out(inbox, base_url=runtime.settings.base_url) for inbox in inboxes])


@router.post("/inboxes", response_model=InboxOut)
async def create_inbox(body: InboxCreate, ctx: InboxesAdmin, session: DbSession, runtime: RuntimeDep) -> InboxOut:
    inbox = await service.create_inbox(session, ctx.account_id, body, cipher=runtime.cipher)
    return inbox_out(inbox, base_url=runtime.settings.base_url)


@router.get("/inboxes/{inbox_id}", response_model=InboxOut)
async def show_inbox(inbox_id: int, ctx: InboxesRead, session: DbSession, runtime: RuntimeDep) -> InboxOut:
    inbox = await InboxRepository(session, ctx.account_id).with_templates_or_404(inbox_id)
    return inbox_out(inbox, base_url=runtime.settings.base_url)


@router.patch("/inboxes/{inbox_id}", response_model=InboxOut)
async def update_inbox(
    inbox_id: int, body: InboxUpdate, ctx: InboxesAdmin, session: DbSession, runtime: RuntimeDep
) -> InboxOut:
    inbox = await InboxRepository(session, ctx.account_id).with_templates_or_404(inbox_id)
    inbox = await service.update_inbox(session, ctx.account_id, inbox, body, cipher=runtime.cipher)
    return inbox_out(inbox, base_url=runtime.settings.base_url)


@router.delete("/inboxes/{inbox_id}", status_code=200, response_class=Response)
async def delete_inbox(inbox_id: int, ctx: InboxesAdmin, session: DbSession) -> Response:
    """Deletes the inbox with its conversations, messages and contact inboxes (contacts stay)."""
    repository = InboxRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(inbox_id))
    return Response(status_code=200)


@router.get("/inboxes/{inbox_id}/assignable_agents", response_model=AgentList)
async def assignable_agents(inbox_id: int, ctx: InboxesRead, session: DbSession) -> AgentList:
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(inbox_id)
    user_ids = await InboxMemberRepository(session, ctx.account_id).assignable_user_ids(inbox.id)
    return await _agents(session, ctx.account_id, user_ids)


@router.get("/inbox_members/{inbox_id}", response_model=AgentList)
async def list_inbox_members(inbox_id: int, ctx: InboxesRead, session: DbSession) -> AgentList:
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(inbox_id)
    return await _agents(session, ctx.account_id, await InboxMemberRepository(session, ctx.account_id).user_ids(inbox.id))


@router.post("/inbox_members", response_model=AgentList)
async def add_inbox_members(body: InboxMembersChange, ctx: InboxesAdmin, session: DbSession) -> AgentList:
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(body.inbox_id)
    members = await service.add_members(session, ctx.account_id, inbox, body.user_ids)
    return await _agents(session, ctx.account_id, members)


@router.patch("/inbox_members", response_model=AgentList)
async def replace_inbox_members(body: InboxMembersChange, ctx: InboxesAdmin, session: DbSession) -> AgentList:
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(body.inbox_id)
    members = await service.replace_members(session, ctx.account_id, inbox, body.user_ids)
    return await _agents(session, ctx.account_id, members)


@router.delete("/inbox_members", status_code=200, response_class=Response)
async def remove_inbox_members(body: InboxMembersChange, ctx: InboxesAdmin, session: DbSession) -> Response:
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(body.inbox_id)
    await service.remove_members(session, ctx.account_id, inbox, body.user_ids)
    return Response(status_code=200)


@router.post("/inboxes/{inbox_id}/setup_webhook", response_model=WebhookSetup)
async def setup_webhook(inbox_id: int, ctx: InboxesAdmin, session: DbSession, runtime: RuntimeDep) -> WebhookSetup:
    """Point the provider (Evolution instance, Telegram bot) at this inbox's callback URL."""
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(inbox_id)
    url = await webhook_setup.setup_webhook(
        inbox, base_url=runtime.settings.base_url, cipher=runtime.cipher, http=runtime.http
    )
    return WebhookSetup(callback_webhook_url=url)


@router.post("/inboxes/{inbox_id}/sync_templates", response_model=TemplateSync)
async def sync_templates(inbox_id: int, ctx: InboxesAdmin, session: DbSession) -> TemplateSync:
    """Sync the WhatsApp Cloud inbox's message templates from Meta, in a job; 422 for other channels."""
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(inbox_id)
    await templates.request_template_sync(session, inbox)
    return TemplateSync(message="Template sync initiated successfully")
