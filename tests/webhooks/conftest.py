from tests.channels.outbound.harness import worker  # noqa: F401
from tests.webhooks.fixtures import receiver, settings  # noqa: F401
