from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from nexa.kit.params import WrappedParams
from nexa.knowledge.extraction import DocumentFormat
from nexa.knowledge.models import DocumentStatus


@dataclass(frozen=True)
class KnowledgeHit:
    """A passage that answers a query. `score` is 0..1 (how much of the query the passage covers, and
    how close its meaning is when embeddings are on), so callers can apply a confidence threshold."""

    document_id: int
    title: str
    content: str
    score: float
    # Why it matched: the query's words (folded, stopwords dropped) the passage or its title contains.
    matched_words: tuple[str, ...] = ()


class FaqPair(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=20_000)


class FaqCreate(WrappedParams):
    wrapper = "faq"

    title: str = Field(default="FAQ", min_length=1, max_length=255)
    pairs: list[FaqPair] = Field(min_length=1, max_length=2000)


class UrlImportCreate(WrappedParams):
    wrapper = "document"

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    title: str | None = Field(default=None, max_length=255)


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    limit: int = Field(default=5, ge=1, le=50)


class DocumentOut(BaseModel):
    id: int
    account_id: int
    title: str
    format: DocumentFormat
    filename: str | None
    source_url: str | None
    size_bytes: int
    status: DocumentStatus
    progress: int = Field(description="0..100 while indexing")
    error: str | None = Field(description="Why indexing failed, when status is failed")
    language: str | None
    chunk_count: int
    created_at: str
    updated_at: str


class DocumentList(BaseModel):
    payload: list[DocumentOut]


class SearchHitOut(BaseModel):
    document_id: int
    title: str
    content: str
    score: float = Field(ge=0, le=1)
    matched_words: list[str] = Field(
        description="Why it matched: the query's words (lowercase, without accents) the passage or its title contains"
    )


class SearchResponse(BaseModel):
    payload: list[SearchHitOut]
