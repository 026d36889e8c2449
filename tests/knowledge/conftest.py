from tests.channels.outbound.harness import worker  # noqa: F401
