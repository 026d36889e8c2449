from tests.bot.harness import bot_inbox  # noqa: F401
from tests.channels.outbound.harness import settings, worker  # noqa: F401
from tests.fixtures.fake_graph import fake_graph  # noqa: F401
