"""The built-in AI SDR bot: auto-reply rules, lead qualification, knowledge answers, the LLM step and the
handoff to humans. See docs/bot.md."""
