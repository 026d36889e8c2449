"""WhatsApp message templates synced from Meta onto the inbox

Chatwoot keeps `message_templates` and `message_templates_last_updated` on its WhatsApp channel; Nexa's inbox
is its own channel, so they go on `inboxes`, with the last sync's failure in plain words and the time a sync
last ran (the periodic re-sync paces itself on it, failed or not). All nullable: nothing to backfill.

Revision ID: 0005_inbox_message_templates
Revises: 0004_inbox_report_indexes
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import nexa.db.types

revision = "0005_inbox_message_templates"
down_revision = "0004_inbox_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inboxes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "message_templates",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "message_templates_last_updated", nexa.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("message_templates_sync_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "message_templates_sync_attempted_at", nexa.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("inboxes", schema=None) as batch_op:
        batch_op.drop_column("message_templates_sync_attempted_at")
        batch_op.drop_column("message_templates_sync_error")
        batch_op.drop_column("message_templates_last_updated")
        batch_op.drop_column("message_templates")
