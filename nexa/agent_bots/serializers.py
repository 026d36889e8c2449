from __future__ import annotations

from nexa.agent_bots.models import AgentBot
from nexa.agent_bots.schemas import AgentBotOut
from nexa.kit.crypto import Cipher


def agent_bot_out(bot: AgentBot, *, cipher: Cipher, with_secret: bool, access_token: str | None = None) -> AgentBotOut:
    return AgentBotOut(
        id=bot.id,
        name=bot.name,
        description=bot.description,
        thumbnail=bot.avatar_url or "",
        outgoing_url=bot.outgoing_url,
        bot_type=bot.bot_type,
        bot_config=bot.bot_config,
        account_id=bot.account_id,
        secret=cipher.decrypt(bot.encrypted_secret) if with_secret and bot.encrypted_secret else None,
        access_token=access_token,
    )
