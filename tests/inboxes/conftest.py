"""Template sync stories need the fake Graph API and a real job worker (fixtures shared with the channel tests)."""

from tests.channels.outbound.harness import settings, worker  # noqa: F401
from tests.fixtures.fake_graph import fake_graph  # noqa: F401
