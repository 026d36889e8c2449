"""Stored webhooks and the job that processes them in batches (why: docs/decisions/0006-*.md).

The webhook request verifies the signature, checks the body parses and that some inbox takes it, and
stores the raw body as one job row: that insert commits before the 2xx, so "2xx = durably stored" holds
and the request costs one insert instead of a dozen statements; concurrent requests share one
transaction (nexa/db/group_commit.py). The job runs the inbound pipeline
(`inbound.receive`) for its body and for every body queued behind it with the same concurrency key, in
one transaction (group commit): their rows and their completion commit together or not at all.

Order per customer: the key is `inbound:<inbox id>:<shard of the customer>`, and at most one job per key
runs at a time, so one customer's webhooks are processed one after another in arrival order while other
customers' shards run in parallel.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.channels import inbound
from nexa.channels.base import ChannelAdapter, InboundEvent, InboundMessage, StatusUpdate, WebhookRejected
from nexa.channels.registry import adapter_for
from nexa.db.engine import Database
from nexa.db.group_commit import GroupCommit
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.jobs.chunks import with_queued_behind
from nexa.jobs.enqueue import NewJob, insert_jobs
from nexa.jobs.registry import JobContext, job
from nexa.kit.lazy_text import _
from nexa.runtime import Runtime

logger = logging.getLogger(__name__)

INBOUND_JOB = "channels.process_webhooks"
INBOUND_QUEUE = "inbound"
# Parallel consumers per inbox; each customer always lands on the same one.
SHARDS = 8
# Webhooks per transaction: large enough to amortize the commit, small enough to keep a batch's realtime
# events (published at commit) within a second and its connection and locks (e.g. the account's
# conversation counter, decision 0002) held briefly. The worker runs 2 inbound jobs at a time by default
# (NEXA_WORKER_QUEUES), so batches never take a request's pool connections away in `nexa serve`.
BATCH = 50


def shard_of(events: list[InboundEvent]) -> int:
    """The shard of the body's first customer: the sender of a message, the recipient of a receipt (so a
    customer's receipts keep their place among their messages, and receipts spread over the shards).
    Bodies naming no customer go to shard 0."""
    for event in events:
        address = event.customer.source_id if isinstance(event, InboundMessage) else (
            event.recipient if isinstance(event, StatusUpdate) else None
        )
        if address:
            digits = "".join(ch for ch in address if ch.isdigit())
            # The last 8 digits: a Brazilian number with and without its 9th digit is one person, one shard.
            return int(digits[-8:]) % SHARDS if digits else zlib.crc32(address.encode()) % SHARDS
    return 0


@dataclass(frozen=True)
class _StoredBody:
    inbox_id: int
    account_id: int
    body: str
    concurrency_key: str


async def store(runtime: Runtime, inbox: Inbox, body: bytes, events: list[InboundEvent]) -> None:
    """Queue a verified body for processing; returns once it is committed.

    Concurrent webhooks are committed together (group commit): under load, one transaction stores every
    body that arrived while the previous one committed.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(400, _("Body is not UTF-8 JSON")) from None
    await _stored_bodies(runtime).submit(
        _StoredBody(inbox.id, inbox.account_id, text, f"inbound:{inbox.id}:{shard_of(events)}")
    )


def _stored_bodies(runtime: Runtime) -> GroupCommit[_StoredBody]:
    committer = runtime.extras.get("stored_webhooks")
    if committer is None:
        committer = runtime.extras["stored_webhooks"] = GroupCommit(runtime.db, _insert_bodies, one_statement=True)
    return committer


async def _insert_bodies(session: AsyncSession, bodies: list[_StoredBody]) -> None:
    # One statement: the group commit runs it without a transaction around it (atomic on its own).
    await insert_jobs(session, INBOUND_JOB, [
        NewJob({"inbox_id": stored.inbox_id, "body": stored.body}, account_id=stored.account_id,
               concurrency_key=stored.concurrency_key)
        for stored in bodies
    ])


async def require_routable(
    database: Database, inbox: Inbox, adapter: ChannelAdapter, events: list[InboundEvent]
) -> None:
    """The webhook request's check that some inbox takes the body (404 otherwise, see `route`); it reads the
    database only when an event names another number than the inbox's own (usually none does)."""
    own_key = adapter.route_key(inbox)
    if own_key is None or all(event.route is None or event.route == own_key for event in events):
        return
    async with database.session(write=False) as session:
        await route(session, inbox, adapter, events)


async def route(
    session: AsyncSession, inbox: Inbox, adapter: ChannelAdapter, events: list[InboundEvent]
) -> dict[int, list[InboundEvent]]:
    """Group events by the id of the inbox they belong to.

    One WhatsApp app has one callback URL for all its numbers, so a body may carry messages for several
    of the account's inboxes, told apart by phone_number_id. A number no inbox has is a 404 only when
    nothing in the body could be stored (the provider then retries later, e.g. once the inbox exists).
    """
    own_key = adapter.route_key(inbox)
    routed: dict[int, list[InboundEvent]] = {}
    siblings: dict[str, int] | None = None
    unknown: set[str] = set()
    for event in events:
        target = inbox.id
        if event.route is not None and own_key is not None and event.route != own_key:
            if siblings is None:
                repository = InboxRepository(session, inbox.account_id)
                candidates = await repository.list(repository.select().where(Inbox.channel_type == inbox.channel_type))
                siblings = {key: c.id for c in candidates if (key := adapter.route_key(c)) is not None}
            found = siblings.get(event.route)
            if found is None:
                unknown.add(event.route)
                continue
            target = found
        routed.setdefault(target, []).append(event)
    if unknown:
        logger.warning("webhook events for unknown numbers", extra={"routes": sorted(unknown), "inbox_id": inbox.id})
        if not routed:
            raise WebhookRejected(404, _("Unknown phone number id: %(ids)s", ids=', '.join(sorted(unknown))))
    return routed


@job(INBOUND_JOB, queue=INBOUND_QUEUE, priority=2)
async def process_webhooks(ctx: JobContext, inbox_id: int, body: str) -> None:
    """Run the inbound pipeline for this body and the bodies queued behind it, in one transaction.

    If the batch fails, this job's own body is retried alone, so one bad body fails only its own job
    (retried with backoff) and the others go back to available for the next run.
    """
    async def work(session: AsyncSession, batch: list[dict[str, Any]]) -> None:
        await _process(session, ctx.account_id, inbox_id, [args["body"] for args in batch])

    await with_queued_behind(ctx, {"inbox_id": inbox_id, "body": body}, BATCH, work)


async def _process(session: AsyncSession, account_id: int | None, inbox_id: int, bodies: list[str]) -> None:
    if account_id is None:
        return
    repository = InboxRepository(session, account_id)
    inbox = await repository.get(inbox_id)
    adapter = adapter_for(inbox.channel_type) if inbox is not None else None
    if inbox is None or adapter is None:
        logger.warning("stored webhooks for a deleted inbox dropped", extra={"inbox_id": inbox_id, "count": len(bodies)})
        return
    # Every body's events, grouped by the inbox they belong to, in arrival order: each inbox's batch is
    # then stored with a few statements (inbound.receive), not a few per message.
    batches: dict[int, list[InboundEvent]] = {}
    for body in bodies:
        try:
            routed = await route(session, inbox, adapter, adapter.parse(body.encode()))
        except WebhookRejected:
            continue  # the sibling inbox it was meant for is gone: logged by route
        for target_id, target_events in routed.items():
            batches.setdefault(target_id, []).extend(target_events)
    for target_id, events in batches.items():
        target = inbox if target_id == inbox.id else await repository.get(target_id)
        if target is not None:
            await inbound.receive(session, target, events)
