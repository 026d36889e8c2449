"""knowledge full-text index

The full-text index of knowledge chunks, by hand because neither form is a model table:
- SQLite: `knowledge_fts`, an FTS5 table (rowid = chunk id) holding the chunk's folded, stemmed terms
  (nexa.knowledge.text), plus a trigger that removes a chunk's entry whenever the chunk is deleted,
  including by a cascade from its document or account.
- PostgreSQL: `knowledge_fts`, a table (chunk_id -> knowledge_chunks ON DELETE CASCADE) with a tsvector
  built with the chunk language's text search configuration, under a GIN index.
Autogenerate skips every object named `knowledge_fts*` (nexa.db.migrations.include_object).

Revision ID: 0002_knowledge
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002_knowledge"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE knowledge_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2')")
        op.execute(
            "CREATE TRIGGER knowledge_fts_chunk_deleted AFTER DELETE ON knowledge_chunks "
            "BEGIN DELETE FROM knowledge_fts WHERE rowid = old.id; END"
        )
    else:
        op.execute(
            "CREATE TABLE knowledge_fts ("
            " chunk_id BIGINT PRIMARY KEY REFERENCES knowledge_chunks (id) ON DELETE CASCADE,"
            " account_id BIGINT NOT NULL,"
            " vector TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX knowledge_fts_vector ON knowledge_fts USING GIN (vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS knowledge_fts_chunk_deleted")
    op.execute("DROP TABLE IF EXISTS knowledge_fts")
