"""Agent bots: settings, their signing secret and API token, and which inbox they serve."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.agent_bots.models import AgentBot
from nexa.agent_bots.schemas import AgentBotCreate, AgentBotUpdate
from nexa.auth import service as auth_service
from nexa.auth.models import AccessToken, TokenOwner
from nexa.auth.repository import AccessTokenRepository
from nexa.config import Settings
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import AgentBotRepository
from nexa.kit.crypto import Cipher
from nexa.kit.urls import check_target_url
from nexa.webhooks.service import new_secret


async def create_agent_bot(
    session: AsyncSession, account_id: int, params: AgentBotCreate, *, settings: Settings, cipher: Cipher
) -> tuple[AgentBot, str]:
    """The bot and its API token's plaintext (shown once)."""
    bot = AgentBot(account_id=account_id, name="", bot_type="webhook", bot_config={}, encrypted_secret=new_secret(cipher))
    await _apply(bot, params.model_dump(exclude_unset=True), settings)
    await AgentBotRepository(session, account_id).add(bot)
    return bot, await _new_token(session, bot)


async def update_agent_bot(session: AsyncSession, bot: AgentBot, params: AgentBotUpdate, *, settings: Settings) -> AgentBot:
    await _apply(bot, params.model_dump(exclude_unset=True), settings)
    await session.flush()
    return bot


async def _apply(bot: AgentBot, changes: dict[str, Any], settings: Settings) -> None:
    if changes.get("outgoing_url"):
        changes["outgoing_url"] = await check_target_url(changes["outgoing_url"], settings, field="outgoing_url")
    if "name" in changes and changes["name"] is not None:
        changes["name"] = changes["name"].strip()
    for field, value in changes.items():
        if value is not None or field in ("description", "outgoing_url", "avatar_url"):
            setattr(bot, field, value if field != "bot_config" else dict(value))


async def reset_access_token(session: AsyncSession, bot: AgentBot, *, actor_user_id: int | None) -> str:
    """Revoke the bot's tokens and issue a new one; its plaintext is returned once."""
    for token in await _live_tokens(session, bot):
        await auth_service.revoke_api_token(session, token, actor_user_id=actor_user_id)
    return await _new_token(session, bot)


async def delete_agent_bot(session: AsyncSession, bot: AgentBot, *, actor_user_id: int | None) -> None:
    for token in await _live_tokens(session, bot):
        await auth_service.revoke_api_token(session, token, actor_user_id=actor_user_id)
    await AgentBotRepository(session, bot.account_id).delete(bot)


async def set_inbox_bot(session: AsyncSession, inbox: Inbox, agent_bot_id: int | None) -> AgentBot | None:
    """Chatwoot's set_agent_bot: the inbox's new conversations then start pending, handled by the bot."""
    bot = await AgentBotRepository(session, inbox.account_id).get_or_404(agent_bot_id) if agent_bot_id else None
    inbox.agent_bot_id = bot.id if bot else None
    await session.flush()
    return bot


async def _new_token(session: AsyncSession, bot: AgentBot) -> str:
    _, plaintext = await auth_service.create_api_token(
        session, owner_type=TokenOwner.agent_bot, owner_id=bot.id, name=f"agent bot {bot.name}"[:255],
        account_id=bot.account_id,
    )
    return plaintext


async def _live_tokens(session: AsyncSession, bot: AgentBot) -> list[AccessToken]:
    tokens = AccessTokenRepository(session)
    statement = tokens.select().where(
        AccessToken.owner_type == TokenOwner.agent_bot, AccessToken.owner_id == bot.id, AccessToken.revoked_at.is_(None)
    )
    return list(await tokens.list(statement))
