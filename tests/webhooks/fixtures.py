"""Fixtures shared by the webhook and agent-bot stories: fast retries and a local receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nexa.config import Settings
from tests.webhooks.receiver import Receiver, running_receiver


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Fast polling and retries: an outage story takes a second. Receivers run on 127.0.0.1.
    return Settings(
        env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
        worker_poll_interval=0.05, webhook_retry_base_seconds=0.05, webhook_retry_max_seconds=0.2,
        webhook_max_attempts=3, webhook_allow_private_targets=True,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running
