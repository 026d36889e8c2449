# The bot's stories (test_bot_handoff.py) run on the bot's fixtures: a WhatsApp inbox on the fake Graph API
# with the bot on, and a real worker.
from tests.bot.harness import bot_inbox  # noqa: F401
from tests.channels.outbound.harness import settings, worker  # noqa: F401
from tests.fixtures.fake_graph import fake_graph  # noqa: F401
