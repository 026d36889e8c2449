"""The knowledge base: documents in, passages out.

Adding a document stores its original bytes and queues `knowledge.index_document` (nexa.knowledge.jobs);
search combines full-text (always) and embeddings (when configured) by reciprocal rank fusion.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.config import Settings
from nexa.db.engine import after_commit
from nexa.jobs.enqueue import enqueue
from nexa.kit.errors import NexaError, UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.kit.storage import media_store, new_media_key
from nexa.knowledge import embeddings
from nexa.knowledge.extraction import DocumentFormat, ExtractionError, format_of, probe
from nexa.knowledge.models import DocumentStatus, KnowledgeDocument
from nexa.knowledge.repository import ChunkRepository, ChunkRow, DocumentRepository
from nexa.knowledge.schemas import FaqPair, KnowledgeHit
from nexa.knowledge.text import query_word_stems
from nexa.runtime import current_runtime
from nexa.tenancy.models import Account
from nexa.tenancy.plans import limit_for
from nexa.kit.urls import check_target_url

logger = logging.getLogger(__name__)

INDEX_JOB = "knowledge.index_document"
FAQ_CONTENT_TYPE = "application/vnd.nexa.faq+json"
# Reciprocal rank fusion's damping constant (Cormack et al.): rank 1 counts 1/61, rank 10 counts 1/70.
RRF_K = 60
CATALOG_TITLE = "Catalog"


class FileTooLarge(NexaError):
    status_code = 413
    default_message = _("The file is too large")


def upload_limit_bytes(account: Account) -> int | None:
    megabytes = limit_for(account.plan, account.limits, "knowledge_upload_mb")
    return None if megabytes is None else megabytes * 1024 * 1024


async def upload_document(
    session: AsyncSession, account: Account, settings: Settings, *, filename: str, data: bytes, title: str | None
) -> KnowledgeDocument:
    """Accept a file for indexing, or refuse it with a clear 4xx (unsupported, too large, empty,
    encrypted, corrupt, over the plan's document count)."""
    fmt = format_of(filename)
    if fmt is None:
        raise UnprocessableEntity(
            _("Unsupported file type: upload PDF, DOCX, XLSX, CSV, TXT or Markdown (.md)")
        )
    limit = upload_limit_bytes(account)
    if limit is not None and len(data) > limit:
        raise FileTooLarge(
            _("The file is larger than your plan's %(megabytes)s MB limit", megabytes=limit // (1024 * 1024))
        )
    try:
        probe(data, fmt)
    except ExtractionError as exc:
        raise UnprocessableEntity(exc.text) from exc
    return await _add_document(
        session, account, settings, data=data, fmt=fmt, title=title or filename, filename=filename
    )


async def create_faq(
    session: AsyncSession, account: Account, settings: Settings, *, title: str, pairs: list[FaqPair]
) -> KnowledgeDocument:
    data = json.dumps([pair.model_dump() for pair in pairs], ensure_ascii=False).encode()
    return await _add_document(session, account, settings, data=data, fmt=DocumentFormat.faq, title=title)


_GOOGLE_SHEET = re.compile(r"^https://docs\.google\.com/spreadsheets/d/([\w-]+)(?:/[^?#]*)?(?:\?[^#]*)?(?:#gid=(\d+))?$")


def csv_export_url(url: str) -> str:
    """A Google Sheets link as its CSV export (the sheet must be shared as "anyone with the link");
    any other URL as given."""
    match = _GOOGLE_SHEET.match(url.strip())
    if match is None or "/export" in url or "/pub" in url:
        return url.strip()
    sheet_id, gid = match.groups()
    return f"https://docs.google.com/spreadsheets/d/{sheet_id}/export?format=csv" + (f"&gid={gid}" if gid else "")


async def import_url(
    session: AsyncSession, account: Account, settings: Settings, *, url: str, title: str | None
) -> KnowledgeDocument:
    """Index a public CSV (or Google Sheets) URL; it is fetched by the indexing job, again on each re-index."""
    # The same guard as outgoing webhooks: in production a URL must not reach into Nexa's own network.
    url = await check_target_url(url, settings)
    documents = DocumentRepository(session, account.id)
    await _check_document_count(documents, account)
    document = await documents.add(
        KnowledgeDocument(title=(title or url)[:255], format=DocumentFormat.csv, source_url=csv_export_url(url))
    )
    await _enqueue_indexing(session, document)
    return document


async def _add_document(
    session: AsyncSession,
    account: Account,
    settings: Settings,
    *,
    data: bytes,
    fmt: DocumentFormat,
    title: str,
    filename: str | None = None,
    source_url: str | None = None,
) -> KnowledgeDocument:
    documents = DocumentRepository(session, account.id)
    await _check_document_count(documents, account)
    key = new_media_key(account.id, FAQ_CONTENT_TYPE if fmt is DocumentFormat.faq else None, filename)
    # Written before the row: a committed document always has its bytes (an orphan file is harmless).
    await media_store(settings).write(key, data)
    document = await documents.add(
        KnowledgeDocument(
            title=title.strip()[:255] or "Untitled",
            format=fmt,
            filename=filename,
            size_bytes=len(data),
            storage_key=key,
            source_url=source_url,
            status=DocumentStatus.queued,
        )
    )
    await _enqueue_indexing(session, document)
    return document


async def _check_document_count(documents: DocumentRepository, account: Account) -> None:
    limit = limit_for(account.plan, account.limits, "knowledge_documents")
    if limit is not None and await documents.count_uploaded() >= limit:
        raise UnprocessableEntity(
            _("Your plan allows %(limit)s knowledge documents; delete one to add another", limit=limit)
        )


async def reindex_document(session: AsyncSession, document: KnowledgeDocument) -> KnowledgeDocument:
    document.status = DocumentStatus.queued
    document.progress = 0
    document.error = None
    await session.flush()
    await _enqueue_indexing(session, document)
    return document


async def reindex_all(session: AsyncSession, account_id: int) -> list[KnowledgeDocument]:
    """Queue every document of the account for indexing (e.g. after embeddings were configured)."""
    documents = await DocumentRepository(session, account_id).newest_first()
    return [await reindex_document(session, document) for document in documents]


async def refresh_catalog(session: AsyncSession, account_id: int) -> KnowledgeDocument:
    """Queue the re-indexing of the account's catalog document (created on first use), after its items changed."""
    documents = DocumentRepository(session, account_id)
    document = await documents.catalog()
    if document is None:
        document = await documents.add(KnowledgeDocument(title=CATALOG_TITLE, format=DocumentFormat.catalog))
    return await reindex_document(session, document)


async def _enqueue_indexing(session: AsyncSession, document: KnowledgeDocument) -> None:
    key = f"knowledge_document:{document.id}"
    await enqueue(
        session, INDEX_JOB, {"document_id": document.id}, account_id=document.account_id, concurrency_key=key
    )


async def delete_document(session: AsyncSession, document: KnowledgeDocument, settings: Settings) -> None:
    """Delete the document; its chunks and their full-text entries go by cascade, its original file once
    the deletion is committed (a rolled-back delete keeps a document that can still be re-indexed)."""
    if document.format is DocumentFormat.catalog:
        raise UnprocessableEntity(
            _("The catalog is indexed from its items: delete them under /catalog/items instead")
        )
    storage_key = document.storage_key
    await DocumentRepository(session, document.account_id).delete(document)
    if storage_key is not None:
        after_commit(session, lambda: media_store(settings).delete(storage_key))


@dataclass
class _Candidate:
    row: ChunkRow
    matched: tuple[str, ...] = ()
    coverage: float = 0.0
    similarity: float = 0.0
    fused: float = 0.0


async def search_knowledge(session: AsyncSession, account_id: int, query: str, *, limit: int = 5) -> list[KnowledgeHit]:
    """The account's passages that best answer `query`, best first; [] when it has no knowledge.

    Full-text candidates are re-ranked by how much of the query they cover; with embeddings configured,
    the closest passages by meaning join them through reciprocal rank fusion. A hit's score is its
    coverage (full text only) or the mean of coverage and cosine similarity (hybrid), both 0..1.
    """
    chunks = ChunkRepository(session, account_id)
    pool = max(limit * 8, 40)
    wanted = query_word_stems(query)
    lexical_ids = await _full_text_ids(chunks, list(wanted.values()), limit=limit, pool=pool)
    semantic = await _semantic_neighbours(chunks, query, pool)
    rows = await chunks.rows([*lexical_ids, *(chunk_id for chunk_id, _ in semantic)])
    if not rows:
        return []
    candidates = {chunk_id: _Candidate(row) for chunk_id, row in rows.items()}
    for candidate in candidates.values():
        candidate.matched = tuple(word for word, stems in wanted.items() if stems & candidate.row.terms)
        candidate.coverage = len(candidate.matched) / len(wanted) if wanted else 0.0
    lexical = sorted(
        (chunk_id for chunk_id in lexical_ids if chunk_id in candidates),
        key=lambda chunk_id: -candidates[chunk_id].coverage,  # stable: the database's rank breaks ties
    )
    if not semantic:
        ranked = [candidates[chunk_id] for chunk_id in lexical]
        return [_hit(candidate, candidate.coverage) for candidate in ranked[:limit]]
    for chunk_id, similarity in semantic:
        if chunk_id in candidates:
            candidates[chunk_id].similarity = max(similarity, 0.0)
    for ranking in (lexical, [chunk_id for chunk_id, _similarity in semantic if chunk_id in candidates]):
        for rank, chunk_id in enumerate(ranking, start=1):
            candidates[chunk_id].fused += 1 / (RRF_K + rank)
    ranked = sorted(candidates.values(), key=lambda candidate: -candidate.fused)
    return [_hit(candidate, (candidate.coverage + candidate.similarity) / 2) for candidate in ranked[:limit]]


async def _full_text_ids(chunks: ChunkRepository, word_stems: list[set[str]], *, limit: int, pool: int) -> list[int]:
    # Passages with every word first: on a large base a common word matches thousands of chunks, and
    # ranking all of them is what makes a search slow. Any-word matching fills in (typos, extra words).
    found = await chunks.full_text(word_stems, pool, every_word=True)
    if len(found) < limit:
        seen = set(found)
        found += [chunk_id for chunk_id in await chunks.full_text(word_stems, pool, every_word=False) if chunk_id not in seen]
    return found


def _hit(candidate: _Candidate, score: float) -> KnowledgeHit:
    row = candidate.row
    return KnowledgeHit(
        document_id=row.document_id, title=row.title, content=row.content, score=round(score, 4),
        matched_words=candidate.matched,
    )


async def _semantic_neighbours(chunks: ChunkRepository, query: str, limit: int) -> list[tuple[int, float]]:
    runtime = current_runtime()
    if not embeddings.enabled(runtime.settings):
        return []
    try:
        [vector] = await embeddings.embed(runtime.http, runtime.settings, [query])
    except (httpx.HTTPError, KeyError, ValueError):
        # Search must answer even when the provider is down: full text alone still finds passages.
        logger.warning("embeddings provider failed; searching full text only", exc_info=True)
        return []
    return await embeddings.nearest(chunks, vector, limit)
