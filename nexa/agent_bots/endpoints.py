"""Agent bots (Chatwoot's /agent_bots) and the inbox's bot setting (/inboxes/{id}/agent_bot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from nexa.agent_bots import service
from nexa.agent_bots.schemas import AgentBotCreate, AgentBotOut, AgentBotUpdate, InboxAgentBot, SetAgentBot
from nexa.agent_bots.serializers import agent_bot_out
from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.inboxes.repository import AgentBotRepository, InboxRepository

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["agent_bots"])

BotsRead = Annotated[AccountContext, Depends(authorize("inboxes:read"))]
BotsAdmin = Annotated[AccountContext, Depends(authorize("inboxes:write", admin=True))]


@router.get("/agent_bots", response_model=list[AgentBotOut])
async def list_agent_bots(ctx: BotsRead, session: DbSession, runtime: RuntimeDep) -> list[AgentBotOut]:
    repository = AgentBotRepository(session, ctx.account_id)
    bots = await repository.list(repository.select().order_by(repository.model.id))
    return [agent_bot_out(bot, cipher=runtime.cipher, with_secret=ctx.is_admin) for bot in bots]


@router.post("/agent_bots", response_model=AgentBotOut)
async def create_agent_bot(body: AgentBotCreate, ctx: BotsAdmin, session: DbSession, runtime: RuntimeDep) -> AgentBotOut:
    """The response carries the bot's API token (`access_token`), shown this once."""
    bot, token = await service.create_agent_bot(
        session, ctx.account_id, body, settings=runtime.settings, cipher=runtime.cipher
    )
    return agent_bot_out(bot, cipher=runtime.cipher, with_secret=True, access_token=token)


@router.get("/agent_bots/{bot_id}", response_model=AgentBotOut)
async def show_agent_bot(bot_id: int, ctx: BotsRead, session: DbSession, runtime: RuntimeDep) -> AgentBotOut:
    bot = await AgentBotRepository(session, ctx.account_id).get_or_404(bot_id)
    return agent_bot_out(bot, cipher=runtime.cipher, with_secret=ctx.is_admin)


@router.patch("/agent_bots/{bot_id}", response_model=AgentBotOut)
async def update_agent_bot(
    bot_id: int, body: AgentBotUpdate, ctx: BotsAdmin, session: DbSession, runtime: RuntimeDep
) -> AgentBotOut:
    bot = await AgentBotRepository(session, ctx.account_id).get_or_404(bot_id)
    bot = await service.update_agent_bot(session, bot, body, settings=runtime.settings)
    return agent_bot_out(bot, cipher=runtime.cipher, with_secret=True)


@router.delete("/agent_bots/{bot_id}", status_code=200, response_class=Response)
async def delete_agent_bot(bot_id: int, ctx: BotsAdmin, session: DbSession) -> Response:
    """Its inboxes lose their bot and its API tokens stop working."""
    bot = await AgentBotRepository(session, ctx.account_id).get_or_404(bot_id)
    await service.delete_agent_bot(session, bot, actor_user_id=ctx.user.id if ctx.user else None)
    return Response(status_code=200)


@router.post("/agent_bots/{bot_id}/reset_access_token", response_model=AgentBotOut)
async def reset_access_token(bot_id: int, ctx: BotsAdmin, session: DbSession, runtime: RuntimeDep) -> AgentBotOut:
    """Revokes the bot's tokens; the new one is in `access_token`, shown this once."""
    bot = await AgentBotRepository(session, ctx.account_id).get_or_404(bot_id)
    token = await service.reset_access_token(session, bot, actor_user_id=ctx.user.id if ctx.user else None)
    return agent_bot_out(bot, cipher=runtime.cipher, with_secret=True, access_token=token)


@router.get("/inboxes/{inbox_id}/agent_bot", response_model=InboxAgentBot, tags=["inboxes"])
async def inbox_agent_bot(inbox_id: int, ctx: BotsRead, session: DbSession, runtime: RuntimeDep) -> InboxAgentBot:
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(inbox_id)
    bot = await AgentBotRepository(session, ctx.account_id).get(inbox.agent_bot_id) if inbox.agent_bot_id else None
    return InboxAgentBot(agent_bot=agent_bot_out(bot, cipher=runtime.cipher, with_secret=ctx.is_admin) if bot else None)


@router.post("/inboxes/{inbox_id}/set_agent_bot", status_code=200, tags=["inboxes"])
async def set_agent_bot(inbox_id: int, body: SetAgentBot, ctx: BotsAdmin, session: DbSession) -> Response:
    """`{agent_bot: id}` gives the inbox a bot (its new conversations start pending); `null` removes it."""
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(inbox_id)
    await service.set_inbox_bot(session, inbox, body.agent_bot)
    return Response(status_code=200)
