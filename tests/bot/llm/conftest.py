from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nexa.devtools.fake_openai import FakeOpenAI


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A running fake OpenAI-compatible server (chat completions) for one test."""
    async with FakeOpenAI().running() as fake:
        yield fake
