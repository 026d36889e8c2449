"""Indexing a document: extract, chunk, detect languages, embed (optional), then swap its chunks in one
transaction, so search sees the old passages or the new ones, never half of each."""

from __future__ import annotations

import asyncio

import httpx

from nexa.catalog.service import catalog_chunks
from nexa.jobs.registry import JobContext, job
from nexa.kit.lazy_text import _, verbatim
from nexa.kit.storage import media_store
from nexa.knowledge import embeddings
from nexa.knowledge.chunking import chunk_blocks
from nexa.knowledge.extraction import DocumentFormat, ExtractionError, extract_blocks
from nexa.knowledge.models import DocumentStatus, KnowledgeDocument
from nexa.knowledge.repository import ChunkRepository, DocumentRepository, NewChunk
from nexa.knowledge.service import INDEX_JOB, upload_limit_bytes
from nexa.knowledge.text import detect_language
from nexa.runtime import Runtime, current_runtime
from nexa.tenancy.models import Account
from nexa.kit.urls import refuse_private_target


class _Unavailable(Exception):
    """A remote service (the document's URL, the embeddings provider) failed in a way that may pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        account = await session.get(Account, ctx.account_id)
        size_limit = upload_limit_bytes(account) if account is not None else None
    try:
        chunks = await _prepare(ctx, runtime, document, size_limit)
    except ExtractionError as exc:
        await _finish(ctx, document_id, status=DocumentStatus.failed, error=exc.reason)
        return
    except _Unavailable as exc:
        if ctx.attempt < ctx.max_attempts:
            raise  # retried with backoff: the service may come back
        await _finish(ctx, document_id, status=DocumentStatus.failed, error=exc.reason)
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
    ctx: JobContext, runtime: Runtime, document: KnowledgeDocument, size_limit: int | None
) -> list[NewChunk]:
    """The document's passages, embedded when a provider is configured. `document` is detached (read only)."""
    assert ctx.account_id is not None
    if document.format is DocumentFormat.catalog:
        async with ctx.database.session(write=False) as session:
            chunks = await catalog_chunks(session, ctx.account_id, document.title)
    else:
        data = await _source_bytes(runtime, document, size_limit)
        blocks = await asyncio.to_thread(extract_blocks, data, document.format)
        texts = chunk_blocks(blocks)
        document_language = detect_language(" ".join(texts))
        chunks = [
            NewChunk(text, detect_language(text, default=document_language), context=document.title) for text in texts
        ]
    await _progress(ctx, document.id, 30)
    if not embeddings.enabled(runtime.settings):
        return chunks
    embedded: list[NewChunk] = []
    for start in range(0, len(chunks), embeddings.BATCH_SIZE):
        batch = chunks[start:start + embeddings.BATCH_SIZE]
        try:
            vectors = await embeddings.embed(
                runtime.http, runtime.settings, [f"{document.title}\n{c.content}" for c in batch]
            )
        except httpx.HTTPError as exc:
            raise _Unavailable(f"The embeddings provider failed: {exc}") from exc
        embedded.extend(
            NewChunk(c.content, c.language, c.context, embeddings.to_bytes(v), c.catalog_item_id)
            for c, v in zip(batch, vectors)
        )
        await _progress(ctx, document.id, 30 + 65 * len(embedded) // len(chunks))
    return embedded


async def _source_bytes(runtime: Runtime, document: KnowledgeDocument, size_limit: int | None) -> bytes:
    """The document's content: fetched again from its URL (imports stay current), else the stored file."""
    if document.source_url:
        return await _fetch(runtime, document.source_url, size_limit)
    if document.storage_key is None:
        raise ExtractionError(_("The document has no stored file to index"))
    try:
        return await media_store(runtime.settings).read(document.storage_key)
    except FileNotFoundError as exc:
        raise ExtractionError(_("The original file is missing from storage; upload it again")) from exc


async def _fetch(runtime: Runtime, url: str, limit: int | None) -> bytes:
    # Checked again at every fetch: DNS may point elsewhere since the URL was accepted.
    refusal = await refuse_private_target(url, runtime.settings)
    if refusal is not None:
        raise ExtractionError(verbatim(refusal))
    try:
        async with runtime.http.stream("GET", url) as response:
            if 400 <= response.status_code < 500:
                raise ExtractionError(
                    _("The URL answered HTTP %(status)s; is it public?", status=response.status_code)
                )
            response.raise_for_status()
            data = bytearray()
            async for piece in response.aiter_bytes():
                data += piece
                if limit is not None and len(data) > limit:
                    raise ExtractionError(
                        _(
                            "The file at the URL is larger than your plan's %(megabytes)s MB limit",
                            megabytes=limit // (1024 * 1024),
                        )
                    )
    except httpx.HTTPError as exc:
        raise _Unavailable(f"The URL could not be fetched: {exc}") from exc
    return bytes(data)


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
