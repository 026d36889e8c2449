"""Knowledge search on PostgreSQL: retrieval quality and latency.

    .venv/bin/python bench/knowledge_search.py [--chunks 50000] [--queries 300]

1. Quality over the evaluation set (tests/knowledge/eval_corpus.py: 8 documents, 71 questions in pt-BR,
   es and en with paraphrases and typos), indexed through the real job: hit@1, hit@3 and MRR for full
   text, embeddings alone (the fake OpenAI-compatible provider's hashed bag of words) and hybrid (RRF).
2. Latency: `search_knowledge()` (full text) over an account of --chunks synthetic chunks, p50/p95, next
   to the raw SQL query it is built on (the same every-word tsquery against knowledge_fts, through a bare
   asyncpg connection): the ratio is the cost of the any-word fallback, fetching the passages, coverage
   re-ranking, the session and the ORM.

Creates and drops its own database next to NEXA_BENCH_DATABASE_URL's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import time
import uuid
import sys
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.knowledge.eval_corpus

from nexa.config import Settings
from nexa.db import migrations
from nexa.db.engine import Database
from nexa.devtools.fake_openai import FakeOpenAI
from nexa.jobs.registry import JobContext
from nexa.knowledge import embeddings
from nexa.knowledge.jobs import index_document
from nexa.knowledge.models import KnowledgeDocument
from nexa.knowledge.repository import ChunkRepository, DocumentRepository, NewChunk
from nexa.knowledge.service import INDEX_JOB, search_knowledge, upload_document
from nexa.knowledge.text import query_word_stems, words
from nexa.runtime import Runtime, use_runtime
from nexa.tenancy import service as tenancy_service
from nexa.tenancy.models import Account
from tests.knowledge.eval_corpus import DOCUMENTS, QUESTIONS, Metrics, evaluate

BATCH = 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def make_account(db: Database, name: str) -> Account:
    async with db.session() as session:
        account = await tenancy_service.create_account(session, name=name, plan="unlimited")
    return account


async def index_corpus(db: Database, settings: Settings, account: Account) -> None:
    for filename, text in DOCUMENTS.items():
        async with db.session() as session:
            document = await upload_document(session, account, settings, filename=filename, data=text.encode(), title=None)
        ctx = JobContext(0, INDEX_JOB, "default", 1, 1, account.id, db, logging.getLogger("bench"))
        await index_document(ctx, document_id=document.id)


async def quality(db: Database, runtime: Runtime, account_id: int) -> dict[str, Metrics]:
    full_text = Runtime.build(runtime.settings.model_copy(update={"embeddings_base_url": None}), db=db)
    results: dict[str, list] = {"full text": [], "embeddings": [], "hybrid": []}
    for question in QUESTIONS:
        async with db.session(write=False) as session:
            use_runtime(full_text)
            lexical = await search_knowledge(session, account_id, question.query, limit=3)
            use_runtime(runtime)
            hybrid = await search_knowledge(session, account_id, question.query, limit=3)
            chunks = ChunkRepository(session, account_id)
            [vector] = await embeddings.embed(runtime.http, runtime.settings, [question.query])
            nearest = await embeddings.nearest(chunks, vector, 3)
            rows = await chunks.rows([chunk_id for chunk_id, _ in nearest])
        results["full text"].append((question, [hit.content for hit in lexical]))
        results["hybrid"].append((question, [hit.content for hit in hybrid]))
        results["embeddings"].append((question, [rows[chunk_id].content for chunk_id, _ in nearest]))
    return {mode: evaluate(pairs) for mode, pairs in results.items()}


def synthetic_passages(count: int, seed: int = 7) -> list[str]:
    """Passages drawn from a Zipf-distributed vocabulary: the corpus's own words scattered among 30,000
    made-up ones, so query words occur with the skewed frequencies of real text (some in thousands of
    chunks, most in a few)."""
    rng = random.Random(seed)
    corpus_words = sorted({word for text in DOCUMENTS.values() for word in words(text) if len(word) > 2})
    made_up = ["".join(rng.choices("abcdefghijlmnoprstuv", k=rng.randint(4, 10))) for _ in range(30_000)]
    vocabulary = corpus_words + made_up
    rng.shuffle(vocabulary)
    weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
    return [" ".join(rng.choices(vocabulary, weights, k=rng.randint(40, 120))) for _ in range(count)]


async def fill(db: Database, account_id: int, count: int) -> None:
    passages = synthetic_passages(count)
    for start in range(0, count, BATCH):
        async with db.session() as session:
            document = await DocumentRepository(session, account_id).add(
                KnowledgeDocument(title=f"Synthetic {start // BATCH}", format="txt", status="ready")
            )
            batch = [NewChunk(text, ("pt", "es", "en")[i % 3]) for i, text in enumerate(passages[start:start + BATCH])]
            await ChunkRepository(session, account_id).add_for_document(document.id, batch)


async def latency(db: Database, dsn: str, account_id: int, queries: list[str]) -> tuple[list[float], list[float]]:
    ours: list[float] = []
    for query in queries:
        started = time.perf_counter()
        async with db.session(write=False) as session:
            await search_knowledge(session, account_id, query, limit=5)
        ours.append(time.perf_counter() - started)
    raw: list[float] = []
    conn = await asyncpg.connect(dsn)
    try:
        for query in queries:
            every_word = " & ".join("(" + " | ".join(sorted(stems)) + ")" for stems in query_word_stems(query).values())
            statement = (
                f"SELECT chunk_id FROM knowledge_fts WHERE account_id = {account_id} AND vector @@ '{every_word}'::tsquery "
                f"ORDER BY ts_rank_cd(vector, '{every_word}'::tsquery, 1) DESC LIMIT 40"
            )
            started = time.perf_counter()
            await conn.fetch(statement)
            raw.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return ours, raw


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=300)
    options = parser.parse_args()

    base = make_url(os.environ.get("NEXA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    name = f"nexa_bench_knowledge_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    dsn = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        await migrations.upgrade_async(url)
        async with FakeOpenAI().running() as fake:
            settings = Settings(
                env="test", data_dir=Path(f"/tmp/{name}"), log_json=False, secret_key="bench-" + "x" * 40,
                embeddings_base_url=fake.base_url, embeddings_api_key=fake.api_key,
            )
            runtime = Runtime.build(settings, db=db)
            use_runtime(runtime)
            account = await make_account(db, "Eval")
            await index_corpus(db, settings, account)
            metrics = await quality(db, runtime, account.id)
            await runtime.close_http()

        use_runtime(Runtime.build(settings.model_copy(update={"embeddings_base_url": None}), db=db))
        big = await make_account(db, "Big")
        started = time.perf_counter()
        await fill(db, big.id, options.chunks)
        fill_seconds = time.perf_counter() - started
        await fill(db, (await make_account(db, "Neighbour")).id, options.chunks // 5)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        queries = [QUESTIONS[i % len(QUESTIONS)].query for i in range(options.queries)]
        await latency(db, dsn, big.id, queries[:30])  # warm caches and the connection pool
        ours, raw = await latency(db, dsn, big.id, queries)
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    print(f"\nretrieval quality: {len(QUESTIONS)} questions (pt-BR, es, en) over {len(DOCUMENTS)} documents\n")
    print(f"{'mode':<14}{'hit@1':>8}{'hit@3':>8}{'MRR':>8}")
    for mode, result in metrics.items():
        print(f"{mode:<14}{result.hit_at_1:>8.3f}{result.hit_at_3:>8.3f}{result.mrr:>8.3f}")
    ms = 1000
    print(f"\nsearch latency: {options.chunks:,} chunks in the account (+{options.chunks // 5:,} in another), "
          f"{options.queries} queries, full text; filled in {fill_seconds:.0f} s\n")
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}{'ratio p95':>11}")
    print(f"{'raw SQL (asyncpg, every-word query)':<34}{percentile(raw, .5) * ms:>9.1f}{percentile(raw, .95) * ms:>9.1f}{1:>11.2f}")
    print(f"{'search_knowledge()':<34}{percentile(ours, .5) * ms:>9.1f}{percentile(ours, .95) * ms:>9.1f}"
          f"{percentile(ours, .95) / percentile(raw, .95):>11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
