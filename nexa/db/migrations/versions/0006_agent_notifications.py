"""agent notifications

Chatwoot's stored notifications (nexa/notifications): one row per member to notify of a mention in a private
note, an assignment, or a qualified lead the bot handed to them. The bot's state remembers why it last handed
a conversation off, so auto-assignment can tell a qualified lead from any other handoff.

Revision ID: 0006_agent_notifications
Revises: 0005_inbox_message_templates
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nexa.db.types

revision = "0006_agent_notifications"
down_revision = "0005_inbox_message_templates"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column(
            "notification_type",
            sa.Enum(
                "conversation_assignment", "conversation_mention", "qualified_lead_handoff",
                name="notificationtype", native_enum=False, length=32,
            ),
            nullable=False,
        ),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column(
            "secondary_actor_type",
            sa.Enum("user", "agent_bot", name="actortype", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("secondary_actor_id", sa.BigInteger(), nullable=True),
        sa.Column("read_at", nexa.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("created_at", nexa.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nexa.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_notifications_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_notifications_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_notifications_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_notifications_account_user_id", ["account_id", "user_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_message_id"), ["message_id"], unique=False)
    with op.batch_alter_table("bot_conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handoff_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_conversations", schema=None) as batch_op:
        batch_op.drop_column("handoff_reason")
    op.drop_table("notifications")
