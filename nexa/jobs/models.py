"""The `jobs` table and its states.

Every index is partial on the states it serves, so each stays as small as the work it finds:
millions of completed rows waiting for pruning never slow down claiming, staging or rescuing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from nexa.db.base import Base, IdMixin
from nexa.db.types import JSONType, UTCDateTime
from nexa.kit.clock import utcnow

AVAILABLE = "available"
SCHEDULED = "scheduled"
EXECUTING = "executing"
RETRYABLE = "retryable"
COMPLETED = "completed"
DISCARDED = "discarded"
CANCELLED = "cancelled"

STATES = (AVAILABLE, SCHEDULED, EXECUTING, RETRYABLE, COMPLETED, DISCARDED, CANCELLED)
# A job is "live" until it reaches a final state; a dedupe key is unique only among live jobs.
LIVE_STATES = (AVAILABLE, SCHEDULED, EXECUTING, RETRYABLE)
FINAL_STATES = (COMPLETED, DISCARDED, CANCELLED)
# States that wait for their time to come before they can be claimed (see staging).
WAITING_STATES = (SCHEDULED, RETRYABLE)


def state_is(*states: str, table: Any = None) -> ColumnElement[bool]:
    """`state IN (...)` with the states inlined as literals, never bound.

    PostgreSQL may plan a prepared statement once for any parameter values (a generic plan), and
    such a plan can use a partial index only if the predicate matches it literally.
    """
    column = (table if table is not None else Job.__table__).c.state
    return column.in_([literal_column(f"'{state}'") for state in states])


def _in_states(states: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{state}'" for state in states) + ")"


def _partial(where: str) -> dict[str, Any]:
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


class Job(IdMixin, Base):
    __tablename__ = "jobs"

    queue: Mapped[str] = mapped_column(String(64), nullable=False, default="default")
    kind: Mapped[str] = mapped_column(String(128), nullable=False)
    args: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=AVAILABLE)
    priority: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=5)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=20)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempted_by: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    concurrency_key: Mapped[str | None] = mapped_column(String(255))
    # Plain integer, no foreign key: jobs outlive accounts (deletion jobs) and only feed logs.
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    inserted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint(_in_states(STATES), name="state"),
        CheckConstraint("priority BETWEEN 0 AND 9", name="priority"),
        CheckConstraint("max_attempts > 0", name="max_attempts"),
        # Claiming walks this index in exactly the claim order and stops after `limit` rows.
        Index(
            "ix_jobs_fetch", "queue", "priority", "scheduled_at", "id", **_partial(f"state = '{AVAILABLE}'")
        ),
        # Staging: scheduled and retryable jobs whose time has come.
        Index("ix_jobs_stage", "scheduled_at", **_partial(_in_states(WAITING_STATES))),
        # The reaper: executing jobs whose worker stopped heartbeating.
        Index("ix_jobs_heartbeat", "heartbeat_at", **_partial(f"state = '{EXECUTING}'")),
        Index("uq_jobs_dedupe_key_live", "dedupe_key", unique=True, **_partial(_in_states(LIVE_STATES))),
        # Recurring jobs also look for finished jobs with their key (a run that already happened).
        Index("ix_jobs_dedupe_key", "dedupe_key", **_partial("dedupe_key IS NOT NULL")),
        # The database itself refuses a second executing job per key, whatever race the workers run.
        Index(
            "uq_jobs_concurrency_key_executing",
            "concurrency_key",
            unique=True,
            **_partial(f"state = '{EXECUTING}'"),
        ),
    )


# Pruning: finished jobs by the time they finished (only one of the three is ever set).
Index(
    "ix_jobs_finished",
    func.coalesce(Job.completed_at, Job.discarded_at, Job.cancelled_at),
    **_partial(_in_states(FINAL_STATES)),
)
