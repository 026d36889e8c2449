"""inbox search and report indexes

Measured with bench/inbox_reports.py at 100,000 conversations and 1,000,000 messages:
- reports count messages of one type over a time window: (account_id, message_type, private, created_at)
  makes that an index-only range scan (190 ms -> 50 ms for 30 days of the largest account); it replaces
  (account_id, created_at), which only reports used and which left every row to be read from the heap;
- conversation search (`lower(content) LIKE '%term%'`) read every message of the account; on PostgreSQL a
  pg_trgm GIN index on lower(content) finds the few matching rows (1 s -> under 1 ms for an order number).
  Hand-written (an expression with an operator class, PostgreSQL only), skipped by autogenerate
  (nexa.db.migrations.HAND_WRITTEN_PREFIXES). SQLite keeps the scan.

Revision ID: 0004_inbox_report_indexes
Revises: 0003_team_cursors
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004_inbox_report_indexes"
down_revision = "0003_team_cursors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_account_created")
        batch_op.create_index(
            "ix_messages_account_type_created", ["account_id", "message_type", "private", "created_at"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database owner may create it, no superuser needed.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX messages_content_trgm ON messages USING gin (lower(content) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS messages_content_trgm")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_account_type_created")
        batch_op.create_index("ix_messages_account_created", ["account_id", "created_at"], unique=False)
