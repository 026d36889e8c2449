"""Auto-reply rules: the bot's zero-token answers (keywords, patterns, greetings, thanks, goodbyes)."""
