from tests.channels.outbound.harness import settings, worker  # noqa: F401
