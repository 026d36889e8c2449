"""The bot's LLM step: `llm_turn` (see docs/bot-llm.md)."""

from nexa.bot.llm.service import LLMTurn, llm_available, llm_turn

__all__ = ["LLMTurn", "llm_available", "llm_turn"]
