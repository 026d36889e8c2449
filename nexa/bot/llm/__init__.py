"""The bot's LLM step: `nexa.bot.llm.service.llm_turn` (see docs/bot-llm.md)."""
