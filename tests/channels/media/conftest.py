from tests.channels.outbound.harness import chat, settings, whatsapp, worker  # noqa: F401
from tests.fixtures.fake_graph import fake_graph  # noqa: F401
