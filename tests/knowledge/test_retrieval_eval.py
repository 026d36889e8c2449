"""Retrieval quality: customers' questions in pt-BR, es and en (paraphrases, typos, no accents) over a
multi-document corpus find the answering passage in the top 3 at least 90 % of the time, full text only."""

from __future__ import annotations

import httpx
import pytest

from nexa.runtime import Runtime
from tests.factories import make_member
from tests.knowledge.eval_corpus import DOCUMENTS, QUESTIONS, evaluate
from tests.knowledge.helpers import add_and_index, search

pytestmark = pytest.mark.usefixtures("worker")


async def test_full_text_hit_at_3_is_at_least_90_percent(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    for filename, text in DOCUMENTS.items():
        await add_and_index(client, admin, filename, text.encode())

    results = [(question, [hit["content"] for hit in await search(client, admin, question.query, limit=3)])
               for question in QUESTIONS]
    metrics = evaluate(results)

    assert len(QUESTIONS) >= 60
    assert metrics.hit_at_3 >= 0.9, (metrics.hit_at_3, metrics.misses)
