"""Queries on knowledge documents and chunks, always within one account.

The full-text index (`knowledge_fts`, migration 0002) has a different form per dialect; this is the only
module that knows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, literal_column, select, text

from nexa.knowledge.extraction import DocumentFormat
from nexa.knowledge.models import KnowledgeChunk, KnowledgeDocument
from nexa.knowledge.text import PG_TEXT_SEARCH_CONFIGS, Language, fold, index_terms
from nexa.tenancy.repository import AccountRepository


ANY_WORD_SCAN = 2000
_SAFE_TSQUERY = re.compile(r"[0-9a-z|&() ]+")


@dataclass(frozen=True)
class NewChunk:
    content: str
    language: Language
    # Text indexed besides the content (the document title), so a passage is found by what it is about.
    context: str = ""
    embedding: bytes | None = None
    catalog_item_id: int | None = None


@dataclass(frozen=True)
class ChunkRow:
    id: int
    document_id: int
    title: str
    content: str
    terms: frozenset[str]  # the stems it is indexed under (title included)


def _stems(indexed: str | list[str] | None) -> list[str]:
    """SQLite's FTS5 column is the space-separated stems; PostgreSQL's tsvector_to_array gives a list."""
    if indexed is None:
        return []
    return indexed.split() if isinstance(indexed, str) else indexed


class DocumentRepository(AccountRepository[KnowledgeDocument]):
    model = KnowledgeDocument

    async def newest_first(self) -> Sequence[KnowledgeDocument]:
        return await self.list(self.select().order_by(KnowledgeDocument.id.desc()))

    async def catalog(self) -> KnowledgeDocument | None:
        return await self.session.scalar(
            self.select().where(KnowledgeDocument.format == DocumentFormat.catalog).limit(1)
        )

    async def count_uploaded(self) -> int:
        """Documents that count against the plan's limit (the catalog does not)."""
        return await self.count(self.select().where(KnowledgeDocument.format != DocumentFormat.catalog))


class ChunkRepository(AccountRepository[KnowledgeChunk]):
    model = KnowledgeChunk

    @property
    def _is_sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    async def delete_for_document(self, document_id: int) -> None:
        # The full-text entries go with them: a trigger on SQLite, ON DELETE CASCADE on PostgreSQL.
        await self.session.execute(
            delete(KnowledgeChunk)
            .where(KnowledgeChunk.account_id == self.account_id, KnowledgeChunk.document_id == document_id)
            .execution_options(synchronize_session=False)
        )

    async def add_for_document(self, document_id: int, chunks: Sequence[NewChunk], *, start: int = 0) -> list[int]:
        """Insert `chunks` (positions from `start`) and their full-text entries; returns their ids."""
        if not chunks:
            return []
        rows = [
            {
                "account_id": self.account_id,
                "document_id": document_id,
                "position": start + offset,
                "content": chunk.content,
                "language": chunk.language,
                "embedding": chunk.embedding,
                "catalog_item_id": chunk.catalog_item_id,
            }
            for offset, chunk in enumerate(chunks)
        ]
        result = await self.session.execute(
            insert(KnowledgeChunk).returning(KnowledgeChunk.id, sort_by_parameter_order=True), rows
        )
        ids = list(result.scalars())
        await self._index(ids, chunks)
        return ids

    async def _index(self, ids: list[int], chunks: Sequence[NewChunk]) -> None:
        if self._is_sqlite:
            entries = [
                {"id": chunk_id, "terms": " ".join(index_terms(f"{chunk.context}\n{chunk.content}", chunk.language))}
                for chunk_id, chunk in zip(ids, chunks)
            ]
            await self.session.execute(text("INSERT INTO knowledge_fts (rowid, terms) VALUES (:id, :terms)"), entries)
            return
        entries = [
            {
                "id": chunk_id,
                "account": self.account_id,
                "config": PG_TEXT_SEARCH_CONFIGS[chunk.language],
                "body": fold(f"{chunk.context}\n{chunk.content}"),
            }
            for chunk_id, chunk in zip(ids, chunks)
        ]
        await self.session.execute(
            text(
                "INSERT INTO knowledge_fts (chunk_id, account_id, vector) "
                "VALUES (:id, :account, to_tsvector(CAST(:config AS regconfig), :body))"
            ),
            entries,
        )

    async def full_text(self, word_stems: Sequence[set[str]], limit: int, *, every_word: bool) -> list[int]:
        """Ids of the chunks matching the query, best first: containing every query word, or any of them.

        `word_stems` holds, per query word, its stems in each language (`nexa.knowledge.text.query_word_stems`);
        a word matches a chunk indexed under any of them. SQLite ranks by BM25, PostgreSQL by cover density.
        """
        if not word_stems:
            return []
        # Stems are [0-9a-z]+, so they are safe inside both query syntaxes.
        if self._is_sqlite:
            groups = ["(" + " OR ".join(f'"{stem}"' for stem in sorted(stems)) + ")" for stems in word_stems]
            statement = text(
                "SELECT c.id FROM knowledge_fts JOIN knowledge_chunks c ON c.id = knowledge_fts.rowid "
                "WHERE knowledge_fts MATCH :query AND c.account_id = :account "
                "ORDER BY bm25(knowledge_fts) LIMIT :limit"
            )
            params: dict[str, object] = {"query": (" AND " if every_word else " OR ").join(groups)}
        else:
            # The query is a ready tsquery of Snowball stems (the algorithms behind PostgreSQL's
            # portuguese, spanish and english configurations): no to_tsquery per language to plan, and
            # each stem once. Ranking reads every matching vector; an any-word query on a common word can
            # match most of a large base, so it ranks the first ANY_WORD_SCAN matches only.
            # The tsquery is inlined, not bound: with a bound one, PostgreSQL's generic plan (from a
            # prepared statement's 6th run) cannot estimate the match and stops using the GIN index.
            groups = ["(" + " | ".join(sorted(stems)) + ")" for stems in word_stems]
            query = (" & " if every_word else " | ").join(groups)
            if not _SAFE_TSQUERY.fullmatch(query):
                raise ValueError(f"unexpected characters in tsquery {query!r}")
            statement = text(
                "SELECT m.chunk_id FROM (SELECT f.chunk_id, f.vector FROM knowledge_fts f "
                f"WHERE f.account_id = :account AND f.vector @@ '{query}'::tsquery LIMIT :scan) m "
                f"ORDER BY ts_rank_cd(m.vector, '{query}'::tsquery, 1) DESC LIMIT :limit"
            )
            params = {"scan": 1_000_000 if every_word else ANY_WORD_SCAN}
        params.update(account=self.account_id, limit=limit)
        return list((await self.session.execute(statement, params)).scalars())

    async def rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """The chunks `ids` with their document titles and indexed stems, by id (one query)."""
        if not ids:
            return {}
        # The index already holds each chunk's stems: reading them back is far cheaper than re-stemming.
        if self._is_sqlite:
            terms = literal_column("(SELECT terms FROM knowledge_fts WHERE rowid = knowledge_chunks.id)")
        else:
            terms = literal_column(
                "(SELECT tsvector_to_array(vector) FROM knowledge_fts WHERE chunk_id = knowledge_chunks.id)"
            )
        statement = (
            select(KnowledgeChunk.id, KnowledgeChunk.document_id, KnowledgeDocument.title, KnowledgeChunk.content, terms)
            .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
            .where(KnowledgeChunk.account_id == self.account_id, KnowledgeChunk.id.in_(list(ids)))
        )
        return {
            row[0]: ChunkRow(row[0], row[1], row[2], row[3], frozenset(_stems(row[4])))
            for row in await self.session.execute(statement)
        }

    async def embedding_version(self) -> tuple[int, str]:
        """(count of embedded chunks, newest document change) of the account: changes whenever its
        vectors may have (ids alone would not do: SQLite reuses the ids of deleted rows)."""
        count = select(func.count()).where(
            KnowledgeChunk.account_id == self.account_id, KnowledgeChunk.embedding.is_not(None)
        ).scalar_subquery()
        newest = select(func.max(KnowledgeDocument.updated_at)).where(
            KnowledgeDocument.account_id == self.account_id
        ).scalar_subquery()
        row = (await self.session.execute(select(count, newest))).one()
        return int(row[0]), str(row[1])

    async def embeddings(self) -> list[tuple[int, bytes]]:
        statement = select(KnowledgeChunk.id, KnowledgeChunk.embedding).where(
            KnowledgeChunk.account_id == self.account_id, KnowledgeChunk.embedding.is_not(None)
        )
        return [(row.id, row.embedding) for row in await self.session.execute(statement)]

    async def has_any(self) -> bool:
        return (await self.session.scalar(self.select().with_only_columns(KnowledgeChunk.id).limit(1))) is not None
