from __future__ import annotations

from nexa.knowledge.models import KnowledgeDocument
from nexa.knowledge.schemas import DocumentOut, KnowledgeHit, SearchHitOut


def document_out(document: KnowledgeDocument) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        account_id=document.account_id,
        title=document.title,
        format=document.format,
        filename=document.filename,
        source_url=document.source_url,
        size_bytes=document.size_bytes,
        status=document.status,
        progress=document.progress,
        error=document.error,
        language=document.language,
        chunk_count=document.chunk_count,
        created_at=document.created_at.isoformat(),
        updated_at=document.updated_at.isoformat(),
    )


def hit_out(hit: KnowledgeHit) -> SearchHitOut:
    return SearchHitOut(
        document_id=hit.document_id, title=hit.title, content=hit.content, score=hit.score,
        matched_words=list(hit.matched_words),
    )
