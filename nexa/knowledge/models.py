from __future__ import annotations

import enum

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import AccountScopedMixin, Base, IdMixin, TimestampMixin
from nexa.knowledge.extraction import DocumentFormat


class DocumentStatus(enum.StrEnum):
    queued = "queued"
    indexing = "indexing"
    ready = "ready"
    failed = "failed"


class KnowledgeDocument(IdMixin, TimestampMixin, AccountScopedMixin, Base):
    """A source of knowledge: an uploaded file, pasted FAQ pairs, an imported CSV URL or the catalog."""

    __tablename__ = "knowledge_documents"

    title: Mapped[str] = mapped_column(String(255), nullable=False)
    format: Mapped[DocumentFormat] = mapped_column(Enum(DocumentFormat, native_enum=False, length=16), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # The original bytes in the media store, kept so the document can be re-indexed.
    storage_key: Mapped[str | None] = mapped_column(String(255))
    source_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DocumentStatus] = mapped_column(
        Enum(DocumentStatus, native_enum=False, length=16), nullable=False, default=DocumentStatus.queued
    )
    # 0..100 while indexing.
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(2))
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class KnowledgeChunk(IdMixin, AccountScopedMixin, Base):
    """A passage of a document, the unit search returns. Its full-text entry lives in `knowledge_fts`
    (migration 0002: FTS5 on SQLite, tsvector + GIN on PostgreSQL), keyed by the chunk id."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_knowledge_chunks_document_id_position", "document_id", "position"),)

    document_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_documents.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    # float32 vector from the embeddings provider, when one is configured.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    catalog_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_items.id", ondelete="CASCADE"), index=True
    )
