from tests.fixtures.fake_graph import fake_graph  # noqa: F401
