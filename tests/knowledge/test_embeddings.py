"""With an OpenAI-compatible embeddings provider configured, passages are also found by meaning (hybrid
ranking); search keeps answering from full text when the provider is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nexa.config import Settings
from nexa.devtools.fake_openai import FakeOpenAI
from nexa.runtime import Runtime
from tests.factories import make_member
from tests.knowledge.eval_corpus import DOCUMENTS, QUESTIONS, evaluate
from tests.knowledge.helpers import add_and_index, search

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI().running() as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, fake_openai: FakeOpenAI) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
        worker_poll_interval=0.05, embeddings_base_url=fake_openai.base_url, embeddings_api_key=fake_openai.api_key,
    )


async def test_hybrid_search_over_the_evaluation_corpus(
    client: httpx.AsyncClient, runtime: Runtime, fake_openai: FakeOpenAI
) -> None:
    admin = await make_member(runtime)
    for filename, text in DOCUMENTS.items():
        await add_and_index(client, admin, filename, text.encode())
    embedded = [r for r in fake_openai.requests if r.path == "/v1/embeddings"]
    assert embedded and all(r.json["model"] == "text-embedding-3-small" for r in embedded)

    results = [(q, [hit["content"] for hit in await search(client, admin, q.query, limit=3)]) for q in QUESTIONS]
    assert evaluate(results).hit_at_3 >= 0.9

    fake_openai.fail_next(1, status=503)
    hits = await search(client, admin, "quanto custa o frete?")
    assert "R$ 19,90" in hits[0]["content"]  # answered from full text alone

