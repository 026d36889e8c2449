"""jobs: NOTIFY from a trigger

PostgreSQL only: a statement-level trigger on `jobs` sends `NOTIFY nexa_jobs, '<queue>'` for each queue an
INSERT made a job available in. The enqueuing transaction used to send it as a statement of its own at
commit, one round trip more for every reply, bot turn and stored webhook. NOTIFY is transactional either
way (heard at commit, never after a rollback), and PostgreSQL delivers identical notifications of one
transaction once.

Revision ID: 0007_jobs_notify_trigger
Revises: 0006_agent_notifications
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0007_jobs_notify_trigger"
down_revision = "0006_agent_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no NOTIFY: its workers share one process and are woken in it
    op.execute(
        """
        CREATE FUNCTION nexa_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('nexa_jobs', due.queue)
            FROM (SELECT DISTINCT queue FROM new_jobs WHERE state = 'available') AS due;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER jobs_notify_available AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs "
        "FOR EACH STATEMENT EXECUTE FUNCTION nexa_jobs_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER jobs_notify_available ON jobs")
    op.execute("DROP FUNCTION nexa_jobs_notify()")
