from tests.channels.outbound.harness import chat, settings, whatsapp, worker  # noqa: F401
from tests.fixtures.fake_graph import fake_graph  # noqa: F401
from tests.fixtures.s3_server import s3_bucket, s3_endpoint  # noqa: F401
