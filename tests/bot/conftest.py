from collections.abc import Iterator

import pytest

from nexa.bot.rules.service import forget_cached_rules
from tests.bot.harness import bot_inbox  # noqa: F401
from tests.channels.outbound.harness import settings, worker  # noqa: F401
from tests.fixtures.fake_graph import fake_graph  # noqa: F401


@pytest.fixture(autouse=True)
def fresh_rules_cache() -> Iterator[None]:
    # Each test empties the database and account ids start over; the process-wide rules cache must too.
    forget_cached_rules()
    yield
    forget_cached_rules()
