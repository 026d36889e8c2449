"""team assignment cursors

Round robin for conversations routed to a team turns per team (nexa.bot.assignment): a cursor row is now
either an inbox's (inbox_id) or a team's (team_id).

Revision ID: 0003_team_cursors
Revises: 0002_knowledge
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_team_cursors"
down_revision = "0002_knowledge"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("bot_assignment_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", _ID, nullable=True))
        batch_op.alter_column("inbox_id", existing_type=_ID, nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_bot_assignment_cursors_team_id"), ["team_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_bot_assignment_cursors_team_id_teams"), "teams", ["team_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    # Team cursors have no inbox; they are only round robin's memory, so they can go.
    op.execute("DELETE FROM bot_assignment_cursors WHERE inbox_id IS NULL")
    with op.batch_alter_table("bot_assignment_cursors", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_bot_assignment_cursors_team_id_teams"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_bot_assignment_cursors_team_id"), type_="unique")
        batch_op.alter_column("inbox_id", existing_type=_ID, nullable=False)
        batch_op.drop_column("team_id")
