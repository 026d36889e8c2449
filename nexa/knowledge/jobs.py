"""Indexing a document: extract, chunk, detect languages, embed (optional), then swap its chunks in one
transaction, so search sees the old passages or the new ones, never half of each."""

from __future__ import annotations

import asyncio

import httpx

from nexa.catalog.service import catalog_chunks
from nexa.jobs.registry import JobContext, job
from nexa.kit.storage import media_store
from nexa.knowledge import embeddings
from nexa.knowledge.chunking import chunk_blocks
from nexa.knowledge.extraction import DocumentFormat, ExtractionError, extract_blocks
from nexa.knowledge.models import DocumentStatus, KnowledgeDocument
from nexa.knowledge.repository import ChunkRepository, DocumentRepository, NewChunk
from nexa.knowledge.service import INDEX_JOB
from nexa.knowledge.text import detect_language
from nexa.runtime import Runtime, current_runtime


@job(INDEX_JOB, max_attempts=5, timeout=900)
async def index_document(ctx: JobContext, document_id: int) -> None:
    runtime = current_runtime()
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        document = await DocumentRepository(session, ctx.account_id).get(document_id)
        if document is None:
            return  # deleted meanwhile
        document.status = DocumentStatus.indexing
        document.progress = 5
        document.error = None
        snapshot = (document.format, document.storage_key, document.title)
    try:
        chunks = await _prepare(ctx, runtime, document_id, *snapshot)
    except ExtractionError as exc:
        await _finish(ctx, document_id, status=DocumentStatus.failed, error=exc.reason)
        return
    except httpx.HTTPError as exc:
        if ctx.attempt < ctx.max_attempts:
            raise  # retried with backoff: the provider may come back
        await _finish(ctx, document_id, status=DocumentStatus.failed, error=f"The embeddings provider failed: {exc}")
        return
    async with ctx.database.session() as session:
        document = await DocumentRepository(session, ctx.account_id).get(document_id)
        if document is None:
            return
        repository = ChunkRepository(session, ctx.account_id)
        await repository.delete_for_document(document_id)
        await repository.add_for_document(document_id, chunks)
        _mark(document, DocumentStatus.ready, error=None)
        document.chunk_count = len(chunks)
        document.language = _main_language(chunks)


async def _prepare(
    ctx: JobContext, runtime: Runtime, document_id: int, fmt: DocumentFormat, storage_key: str | None, title: str
) -> list[NewChunk]:
    if fmt is DocumentFormat.catalog:
        async with ctx.database.session(write=False) as session:
            chunks = await catalog_chunks(session, ctx.account_id or 0, title)
    else:
        if storage_key is None:
            raise ExtractionError("The document has no stored file to index")
        try:
            data = await media_store(runtime.settings).read(storage_key)
        except FileNotFoundError as exc:
            raise ExtractionError("The original file is missing from storage; upload it again") from exc
        blocks = await asyncio.to_thread(extract_blocks, data, fmt)
        texts = chunk_blocks(blocks)
        document_language = detect_language(" ".join(texts))
        chunks = [NewChunk(text, detect_language(text, default=document_language), context=title) for text in texts]
    await _progress(ctx, document_id, 30)
    if not embeddings.enabled(runtime.settings):
        return chunks
    embedded: list[NewChunk] = []
    for start in range(0, len(chunks), embeddings.BATCH_SIZE):
        batch = chunks[start:start + embeddings.BATCH_SIZE]
        vectors = await embeddings.embed(runtime.http, runtime.settings, [f"{title}\n{c.content}" for c in batch])
        embedded.extend(
            NewChunk(c.content, c.language, c.context, embeddings.to_bytes(v), c.catalog_item_id)
            for c, v in zip(batch, vectors)
        )
        await _progress(ctx, document_id, 30 + 65 * len(embedded) // len(chunks))
    return embedded


async def _progress(ctx: JobContext, document_id: int, percent: int) -> None:
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        document = await DocumentRepository(session, ctx.account_id).get(document_id)
        if document is not None:
            document.progress = percent


async def _finish(ctx: JobContext, document_id: int, *, status: DocumentStatus, error: str | None) -> None:
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        document = await DocumentRepository(session, ctx.account_id).get(document_id)
        if document is not None:
            _mark(document, status, error=error)


def _mark(document: KnowledgeDocument, status: DocumentStatus, *, error: str | None) -> None:
    document.status = status
    document.error = error
    document.progress = 100 if status is DocumentStatus.ready else document.progress


def _main_language(chunks: list[NewChunk]) -> str | None:
    languages = [chunk.language for chunk in chunks]
    return max(set(languages), key=languages.count) if languages else None
