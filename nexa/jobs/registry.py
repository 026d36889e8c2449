"""Job kinds: the `@job` decorator, the outcomes a handler can signal, and the modules that define jobs."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from croniter import croniter

from nexa.jobs.backoff import default_backoff

if TYPE_CHECKING:
    from nexa.db.engine import Database

# Modules that define jobs; a worker imports them all before it claims anything. Append yours.
JOB_MODULES: list[str] = [
    "nexa.jobs.scheduler",
    "nexa.channels.outbound",
    "nexa.channels.inbound",
    "nexa.channels.inbound_queue",
    "nexa.channels.media",
    "nexa.bot.runner",
    "nexa.bot.assignment",
    "nexa.bot.follow_ups",
    "nexa.webhooks.jobs",
    "nexa.knowledge.jobs",
    "nexa.automation.jobs",
    "nexa.bulk_actions.jobs",
    "nexa.inboxes.jobs",
]


@dataclass(frozen=True)
class JobContext:
    """What a handler knows about the run it is in; the job's args arrive as keyword arguments."""

    job_id: int
    kind: str
    queue: str
    attempt: int
    max_attempts: int
    account_id: int | None
    database: Database
    logger: logging.Logger
    # The job's key, for handlers that take the jobs queued behind them in one batch (claim.take_batch).
    concurrency_key: str | None = None


@dataclass(frozen=True)
class ChunkJob:
    """One job of the chunk a `chunked` handler receives: its run and its args."""

    ctx: JobContext
    args: dict[str, Any]


Handler = Callable[..., Awaitable[Any]]
# What a chunked handler returns: the jobs of its chunk that did not complete, by id, with why (an outcome
# below or any other exception).
ChunkFailures = Mapping[int, BaseException]


class Snooze(Exception):
    """Run again in `seconds` without counting the attempt as a failure; return it or raise it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"snoozed for {seconds}s")
        self.seconds = float(seconds)


class Discard(Exception):
    """Give up for good: the job will never succeed (bad input, the record is gone, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancel(Exception):
    """Stop on purpose: the work is no longer wanted (the conversation was resolved, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class JobSpec:
    kind: str
    handler: Handler
    queue: str
    max_attempts: int
    priority: int
    timeout: float | None
    backoff: Callable[[int], float]
    chunked: bool = False


@dataclass(frozen=True)
class Recurring:
    kind: str
    cron: str
    args: dict[str, Any]


_JOBS: dict[str, JobSpec] = {}
_RECURRING: dict[tuple[str, str], Recurring] = {}


def job(
    kind: str,
    *,
    queue: str = "default",
    max_attempts: int = 20,
    priority: int = 5,
    timeout: float | None = None,
    backoff: Callable[[int], float] = default_backoff,
    cron: str | None = None,
    chunked: bool = False,
) -> Callable[[Handler], Handler]:
    """Register `async def handler(ctx: JobContext, **args)` as the code that runs jobs of `kind`.

    `timeout` (seconds) bounds one attempt; a timed-out attempt fails like an exception.
    `backoff(attempt)` gives the seconds to wait before retrying a failed attempt.
    `cron` also enqueues the job (with no args) on that schedule, see `nexa.jobs.scheduler`.

    `chunked=True` (Oban Pro's chunk worker): the handler is `async def handler(jobs: Sequence[ChunkJob]) ->
    ChunkFailures` and gets every job of `kind` that one claim took (up to the queue's free slots, never two
    with the same concurrency key), so it can do their work together: one read, one transaction. It
    returns the jobs that did not complete with the exception saying why (Snooze, Discard, Cancel or an
    error), each settled as a plain handler's would be; an exception it raises fails every job of the
    chunk, and `timeout` bounds the whole chunk.
    """
    if not 0 <= priority <= 9:
        raise ValueError(f"priority must be 0 (highest) to 9, not {priority}")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(handler: Handler) -> Handler:
        existing = _JOBS.get(kind)
        if existing is not None and _qualified(existing.handler) != _qualified(handler):
            raise ValueError(f"job kind {kind!r} is already registered by {_qualified(existing.handler)}")
        _JOBS[kind] = JobSpec(kind, handler, queue, max_attempts, priority, timeout, backoff, chunked)
        if cron is not None:
            recurring(kind, cron)
        return handler

    return register


def recurring(kind: str, cron: str, args: dict[str, Any] | None = None) -> None:
    """Enqueue `kind` with `args` on the `cron` schedule (five-field crontab, UTC)."""
    if not croniter.is_valid(cron):
        raise ValueError(f"invalid cron expression {cron!r} for job {kind!r}")
    _RECURRING[(kind, cron)] = Recurring(kind, cron, dict(args or {}))


def get_job(kind: str) -> JobSpec | None:
    return _JOBS.get(kind)


def recurring_jobs() -> list[Recurring]:
    return list(_RECURRING.values())


def load_job_modules(extra: Iterable[str] = ()) -> None:
    """Import every module that defines jobs: `JOB_MODULES` plus `extra` (e.g. from NEXA_JOB_MODULES)."""
    for name in [*JOB_MODULES, *extra]:
        name = name.strip()
        if name:
            importlib.import_module(name)


def _qualified(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"
