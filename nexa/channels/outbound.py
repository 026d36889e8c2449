"""Outbound delivery, the same for every channel: a pending reply becomes a provider send, exactly once
after a known success, in order per conversation, within the number's rate.

`nexa.conversations.messages.create_message` enqueues `channels.deliver` for every customer-visible
reply in a provider-backed inbox, in the reply's own transaction. The job here sends it through the
channel's adapter and records the outcome. What the API refuses up front lives here too, so the job and
the API judge a reply by the same rules: the service window (`service_window_closes_at`) and the limits
of buttons, lists and templates (`check_reply`). Read receipts and typing go out through
`channels.mark_read`. See docs/channels/delivery.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from redis.asyncio import Redis
from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from nexa.channels.base import (
    ChannelAdapter,
    DeliveryError,
    ListRow,
    ListSection,
    OutboundMessage,
    OutgoingMedia,
    ReplyButton,
    SentMessage,
    Template,
)
from nexa.channels.inbound import apply_early_receipts
from nexa.channels.registry import adapter_for
from nexa.channels.webhooks import InboxCredentials
from nexa.channels.whatsapp_cloud.templates import check_template_send
from nexa.contacts.models import ContactInbox
from nexa.conversations import messages
from nexa.conversations.models import (
    Attachment,
    ContentType,
    Conversation,
    Message,
    MessageStatus,
    MessageType,
)
from nexa.conversations.repository import MessageRepository
from nexa.db.dialect import is_postgres, one_of
from nexa.db.engine import Database
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.jobs.chunks import together_or_alone
from nexa.jobs.enqueue import EnqueuedJob, enqueue
from nexa.jobs.models import LIVE_STATES, Job
from nexa.jobs.registry import ChunkFailures, ChunkJob, JobContext, Snooze, job
from nexa.kit.clock import utcnow
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.kit.storage import signed_media_url
from nexa.runtime import Runtime, current_runtime

logger = logging.getLogger(__name__)

DELIVERY_JOB = messages.DELIVERY_JOB
MARK_READ_JOB = "channels.mark_read"

# How agents and API clients read the channel's name in errors.
CHANNEL_NAMES = {
    ChannelType.whatsapp_cloud: "WhatsApp",
    ChannelType.evolution: "WhatsApp",
    ChannelType.telegram: "Telegram",
}

# WhatsApp's interactive limits, the strictest of the channels with buttons; enforced for all of them so
# a reply written for one number never fails on another.
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10
LIST_BUTTON_MAX = 20
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
INTERACTIVE_BODY_MAX = 1024
DEFAULT_LIST_BUTTON = "Options"

# The job table's own ceiling; the real limit is Settings.delivery_max_attempts, checked by the job so
# that the last attempt marks the message failed instead of leaving it pending.
_JOB_ATTEMPTS_CEILING = 1000
# Waiting for an earlier reply of the same conversation: check again at least this often.
_PREDECESSOR_POLL_SECONDS = 30.0


def channel_name(inbox: Inbox) -> str:
    return CHANNEL_NAMES.get(inbox.channel_type, inbox.channel_type.value)


# --- the 24-hour rule -----------------------------------------------------------------------------------

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


async def service_window_closes_at(session: AsyncSession, conversation: Conversation, inbox: Inbox) -> datetime | None:
    """When free-form replies (text, media, buttons) to this customer stop being allowed on this inbox.

    None: the channel has no such window. A time in the past: the window is closed (a customer who never
    wrote has a window that closed long ago) and only templates may be sent.
    """
    adapter = adapter_for(inbox.channel_type)
    window = adapter.capabilities.service_window if adapter else None
    if window is None:
        return None
    last = await MessageRepository(session, inbox.account_id).last_incoming(inbox.id, conversation.contact_id)
    return last.created_at + window if last is not None else _NEVER


# --- what a reply may contain ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interactive:
    buttons: tuple[ReplyButton, ...] = ()
    list_button: str | None = None
    sections: tuple[ListSection, ...] = ()


def interactive_of(
    adapter: ChannelAdapter, content: str | None, content_type: ContentType, content_attributes: Mapping[str, Any]
) -> Interactive:
    """Chatwoot's input_select (`content_attributes.items: [{title, value}]`) as this channel sends it:
    reply buttons when they fit, else a list. Raises UnprocessableEntity naming the broken limit."""
    if content_type != ContentType.input_select:
        return Interactive()
    items = content_attributes.get("items")
    if not isinstance(items, list) or not items:
        raise UnprocessableEntity(_("content_attributes.items must list the options: [{title, value}]"))
    capabilities = adapter.capabilities
    if capabilities.max_buttons == 0 and not capabilities.lists:
        raise UnprocessableEntity(_("This channel cannot send buttons or lists"))
    if not (content or "").strip():
        raise UnprocessableEntity(_("Buttons and lists need a text (content) to go with them"))
    if len(content or "") > INTERACTIVE_BODY_MAX:
        raise UnprocessableEntity(
            _(
                "The text of a message with buttons or a list is limited to %(max_length)s characters",
                max_length=INTERACTIVE_BODY_MAX,
            )
        )
    options = [_option(item, index) for index, item in enumerate(items)]
    if len(options) <= capabilities.max_buttons:
        return Interactive(buttons=_buttons(options))
    if not capabilities.lists:
        raise UnprocessableEntity(
            _("This channel sends at most %(max_buttons)s buttons", max_buttons=capabilities.max_buttons)
        )
    return Interactive(list_button=_list_button(content_attributes), sections=(ListSection(None, _rows(options)),))


@dataclass(frozen=True)
class _Option:
    id: str
    title: str
    description: str | None


def _option(item: Any, index: int) -> _Option:
    if not isinstance(item, dict) or not str(item.get("title") or "").strip():
        raise UnprocessableEntity(_("content_attributes.items[%(index)s] needs a title", index=index))
    title = str(item["title"]).strip()
    value = item.get("value")
    description = item.get("description")
    return _Option(str(value) if value not in (None, "") else title, title, str(description) if description else None)


def _buttons(options: list[_Option]) -> tuple[ReplyButton, ...]:
    for option in options:
        if len(option.title) > BUTTON_TITLE_MAX:
            raise UnprocessableEntity(
                _(
                    "Button titles are limited to %(max_length)s characters: %(title)r",
                    max_length=BUTTON_TITLE_MAX,
                    title=option.title,
                )
            )
        if len(option.id) > BUTTON_ID_MAX:
            raise UnprocessableEntity(
                _("Button values are limited to %(max_length)s characters", max_length=BUTTON_ID_MAX)
            )
    _require_unique([o.title for o in options], "Button titles")
    _require_unique([o.id for o in options], "Button values")
    return tuple(ReplyButton(o.id, o.title) for o in options)


def _rows(options: list[_Option]) -> tuple[ListRow, ...]:
    if len(options) > LIST_ROWS_MAX:
        raise UnprocessableEntity(
            _(
                "A list holds at most %(max_options)s options, not %(count)s",
                max_options=LIST_ROWS_MAX,
                count=len(options),
            )
        )
    for option in options:
        if len(option.title) > ROW_TITLE_MAX:
            raise UnprocessableEntity(
                _(
                    "List option titles are limited to %(max_length)s characters: %(title)r",
                    max_length=ROW_TITLE_MAX,
                    title=option.title,
                )
            )
        if len(option.id) > ROW_ID_MAX:
            raise UnprocessableEntity(
                _("List option values are limited to %(max_length)s characters", max_length=ROW_ID_MAX)
            )
        if option.description and len(option.description) > ROW_DESCRIPTION_MAX:
            raise UnprocessableEntity(
                _(
                    "List option descriptions are limited to %(max_length)s characters",
                    max_length=ROW_DESCRIPTION_MAX,
                )
            )
    _require_unique([o.id for o in options], "List option values")
    return tuple(ListRow(o.id, o.title, o.description) for o in options)


def _list_button(content_attributes: Mapping[str, Any]) -> str:
    label = str(content_attributes.get("button_label") or DEFAULT_LIST_BUTTON).strip()
    if len(label) > LIST_BUTTON_MAX:
        raise UnprocessableEntity(
            _(
                "content_attributes.button_label is limited to %(max_length)s characters",
                max_length=LIST_BUTTON_MAX,
            )
        )
    return label


def _require_unique(values: list[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise UnprocessableEntity(_("%(what)s must be different from each other", what=what))


def template_of(template_params: Mapping[str, Any]) -> Template:
    """Chatwoot's `template_params {name, category, language, processed_params}` as Graph API components.

    processed_params is either Chatwoot's older flat map of body parameters (`{"1": "Alex"}`, or names
    for named-parameter templates) or its newer `{body: {...}, header: {media_url, media_type | text},
    buttons: [{type: url | quick_reply | copy_code, parameter}]}`.
    """
    name = str(template_params.get("name") or "").strip()
    language = str(template_params.get("language") or "").strip()
    if not name or not language:
        raise UnprocessableEntity(_("template_params needs the template's name and language"))
    processed = template_params.get("processed_params") or {}
    if not isinstance(processed, dict):
        raise UnprocessableEntity(_("template_params.processed_params must be an object"))
    structured = any(key in processed for key in ("body", "header", "buttons"))
    body = processed.get("body") or {} if structured else processed
    components: list[dict[str, Any]] = []
    header = _template_header(processed.get("header")) if structured else None
    if header:
        components.append(header)
    if body:
        components.append({"type": "body", "parameters": _body_parameters(body)})
    components += _template_buttons(processed.get("buttons") if structured else None)
    return Template(name=name, language=language, components=tuple(components))


def _body_parameters(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise UnprocessableEntity(_("template_params body parameters must be an object"))
    ordered = sorted(body.items(), key=lambda item: (not str(item[0]).isdigit(), int(item[0]) if str(item[0]).isdigit() else 0, str(item[0])))
    return [
        {"type": "text", "text": str(value)} if str(key).isdigit()
        else {"type": "text", "parameter_name": str(key), "text": str(value)}
        for key, value in ordered
    ]


def _template_header(header: Any) -> dict[str, Any] | None:
    if not header:
        return None
    if not isinstance(header, dict):
        raise UnprocessableEntity(_("template_params header must be an object"))
    if header.get("media_url"):
        kind = str(header.get("media_type") or "image")
        if kind not in ("image", "video", "document"):
            raise UnprocessableEntity(_("template_params header media_type must be image, video or document"))
        return {"type": "header", "parameters": [{"type": kind, kind: {"link": str(header["media_url"])}}]}
    if header.get("text"):
        return {"type": "header", "parameters": [{"type": "text", "text": str(header["text"])}]}
    return None


_BUTTON_PARAMETER = {
    "url": lambda value: {"type": "text", "text": value},
    "quick_reply": lambda value: {"type": "payload", "payload": value},
    "copy_code": lambda value: {"type": "coupon_code", "coupon_code": value},
}


def _template_buttons(buttons: Any) -> list[dict[str, Any]]:
    if not buttons:
        return []
    if not isinstance(buttons, list):
        raise UnprocessableEntity(_("template_params buttons must be a list"))
    components = []
    for index, button in enumerate(buttons):
        kind = button.get("type") if isinstance(button, dict) else None
        if kind not in _BUTTON_PARAMETER:
            raise UnprocessableEntity(_("template_params buttons need a type: url, quick_reply or copy_code"))
        if button.get("parameter") in (None, ""):
            continue  # a static button: nothing to fill in
        components.append({
            "type": "button", "sub_type": kind, "index": str(index),
            "parameters": [_BUTTON_PARAMETER[kind](str(button["parameter"]))],
        })
    return components


async def check_reply(
    session: AsyncSession,
    conversation: Conversation,
    inbox: Inbox,
    *,
    content: str | None,
    content_type: ContentType,
    content_attributes: Mapping[str, Any],
    template_params: Mapping[str, Any] | None,
) -> None:
    """Refuse up front (422) a reply the channel would refuse: free-form outside the service window,
    buttons or lists over their limits, a template the channel cannot send or that the inbox's templates
    synced from Meta do not have (name, language, approval, parameters)."""
    adapter = adapter_for(inbox.channel_type)
    if adapter is None:
        return
    if template_params is not None:
        if not adapter.capabilities.templates:
            raise UnprocessableEntity(
                _("%(channel)s inboxes cannot send templates", channel=channel_name(inbox))
            )
        template = template_of(template_params)
        await InboxRepository(session, inbox.account_id).load_templates(inbox)
        if inbox.message_templates:
            # The inbox has Meta's list (WhatsApp Cloud): a send it would refuse is refused before it is queued.
            check_template_send(inbox.message_templates, template)
        return
    closes_at = await service_window_closes_at(session, conversation, inbox)
    if closes_at is not None and closes_at <= utcnow():
        hours = int(adapter.capabilities.service_window.total_seconds() // 3600)  # type: ignore[union-attr]
        raise UnprocessableEntity(
            _(
                "The %(hours)s-hour window to reply to this customer on %(channel)s has closed: send an approved template (template_params) instead",
                hours=hours,
                channel=channel_name(inbox),
            )
        )
    if content is not None and len(content) > adapter.capabilities.max_text_length:
        raise UnprocessableEntity(
            _(
                "Messages are limited to %(max_length)s characters",
                max_length=adapter.capabilities.max_text_length,
            )
        )
    interactive_of(adapter, content, content_type, content_attributes)


# --- the per-number rate limit ---------------------------------------------------------------------------


class SendRateLimiter(Protocol):
    async def acquire(self, key: str, rate_per_second: float, count: int = 1) -> list[float]:
        """Take `count` sends from `key`'s bucket, in order: for each, 0 when it may go now, else the seconds
        until its turn (the refused ones one after another, `1 / rate` apart)."""


def _turns(allowed: int, count: int, first_wait: float, rate_per_second: float) -> list[float]:
    return [0.0] * allowed + [first_wait + index / rate_per_second for index in range(count - allowed)]


class MemorySendRateLimiter:
    """A token bucket per key for one process: embedded mode, where this process is the only sender."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    async def acquire(self, key: str, rate_per_second: float, count: int = 1) -> list[float]:
        # At least one send of capacity, so that a rate under one per second still sends.
        capacity = max(rate_per_second, 1.0)
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate_per_second)
        allowed = min(count, int(tokens))
        tokens -= allowed
        self._buckets[key] = (tokens, now)
        return _turns(allowed, count, (1 - tokens) / rate_per_second, rate_per_second)


# One bucket per number shared by every process: refilled from Redis' own clock (no skew between hosts),
# capacity one second of sends (at least one). Takes up to ARGV[2] sends; returns how many it took and the
# wait for the next one in microseconds (Lua numbers come back as integers).
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local capacity = math.max(rate, 1)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = math.min(count, math.floor(tokens))
tokens = tokens - allowed
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return {allowed, math.ceil((1 - tokens) / rate * 1000000)}
"""


class RedisSendRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "nexa:send:") -> None:
        self._script = redis.register_script(_TOKEN_BUCKET)
        self._prefix = prefix

    async def acquire(self, key: str, rate_per_second: float, count: int = 1) -> list[float]:
        try:
            allowed, wait_us = await self._script(keys=[self._prefix + key], args=[rate_per_second, count])
        except Exception:
            # Redis down: send rather than stall every reply; the provider's 130429 still slows us down.
            logger.warning("send rate limiter unavailable", exc_info=True)
            return [0.0] * count
        return _turns(int(allowed), count, int(wait_us) / 1_000_000, rate_per_second)


def send_rate_limiter(runtime: Runtime) -> SendRateLimiter:
    """The process's limiter: Redis when the runtime has it (shared by every process), else in memory."""
    limiter = runtime.extras.get("send_rate_limiter")
    if limiter is None:
        limiter = RedisSendRateLimiter(runtime.redis) if runtime.redis is not None else MemorySendRateLimiter()
        runtime.extras["send_rate_limiter"] = limiter
    return limiter


def rate_per_second(inbox: Inbox, adapter: ChannelAdapter) -> float | None:
    """Sends per second for the inbox's number: channel_config.rate_per_second, else the channel's default."""
    configured = inbox.channel_config.get("rate_per_second")
    try:
        rate = float(configured) if configured not in (None, "") else adapter.capabilities.rate_per_second
    except (TypeError, ValueError):
        rate = adapter.capabilities.rate_per_second
    return rate if rate and rate > 0 else None


# --- the delivery job ------------------------------------------------------------------------------------


def delivery_backoff(attempt: int) -> float:
    """NEXA_DELIVERY_RETRY_BASE_SECONDS * 2^(attempt-1), capped, +-10 % jitter (outages end together)."""
    settings = current_runtime().settings
    base = min(settings.delivery_retry_base_seconds * 2 ** max(0, attempt - 1), settings.delivery_retry_max_seconds)
    return base * random.uniform(0.9, 1.1)


@dataclass
class _Delivery:
    message: Message
    conversation: Conversation
    inbox: Inbox
    adapter: ChannelAdapter
    outbound: OutboundMessage


@job(
    DELIVERY_JOB, queue="deliveries", max_attempts=_JOB_ATTEMPTS_CEILING, priority=3, timeout=60, backoff=delivery_backoff,
    chunked=True,
)
async def deliver(jobs: Sequence[ChunkJob]) -> ChunkFailures:
    """Send pending replies: the ones a claim took are read in one statement, sent concurrently (a claim
    never takes two of one conversation, so each conversation's order holds) and recorded in one
    transaction.

    Never twice after a known success: the provider's id is stored in the same transaction that marks the
    message sent, and a message no longer pending is not sent again. The one at-least-once window: the
    provider accepted the send but this process died before that transaction committed. The job then runs
    again and sends again; where the provider takes an idempotency key, the job id (stable across
    attempts) lets it drop the duplicate.
    """
    runtime = current_runtime()
    database = jobs[0].ctx.database
    failures: dict[int, BaseException] = {}
    # Reading what to send needs no transaction; a reply that cannot be sent is marked failed in one of
    # its own.
    async with database.session(write=False) as session:
        prepared = await _prepare_all(session, runtime, jobs, failures)
    sendable: list[tuple[ChunkJob, _Delivery]] = []
    for item, delivery in prepared:
        if isinstance(delivery, _Unsendable):
            await _record_failure(database, item.args["message_id"], delivery.reason)
        else:
            sendable.append((item, delivery))
    results = await asyncio.gather(
        *(_send(runtime, item.ctx, delivery) for item, delivery in sendable), return_exceptions=True
    )
    sent: list[tuple[ChunkJob, SentMessage]] = []
    for (item, _delivery), result in zip(sendable, results, strict=True):
        if isinstance(result, BaseException):
            failures[item.ctx.job_id] = result
        elif result is not None:
            sent.append((item, result))
    # The providers' ids, stored in one transaction (or each alone if that fails, so that one reply whose
    # record fails does not get the others sent again).
    failures.update(await together_or_alone(database, sent, _mark_sent))
    return failures


@dataclass(frozen=True)
class _Unsendable:
    reason: str


async def _prepare_all(
    session: AsyncSession, runtime: Runtime, jobs: Sequence[ChunkJob], failures: dict[int, BaseException]
) -> list[tuple[ChunkJob, _Delivery | _Unsendable]]:
    """The sends to make, or why a reply cannot be sent; a job whose reply is gone or settled has nothing to
    do, and one that must wait (rate limit, an earlier reply) lands in `failures` with its Snooze."""
    pending = await _load_pending(session, [item.args["message_id"] for item in jobs])
    prepared: list[tuple[ChunkJob, _Delivery | _Unsendable]] = []
    for item in jobs:
        loaded = pending.get(item.args["message_id"])
        if loaded is None:
            continue
        try:
            prepared.append((item, await _prepare(session, runtime, loaded, item.ctx.job_id)))
        except Exception as exc:
            failures[item.ctx.job_id] = exc
    return await _within_rate(runtime, prepared, failures)


async def _prepare(session: AsyncSession, runtime: Runtime, loaded: _Pending, job_id: int) -> _Delivery | _Unsendable:
    message, conversation, inbox, address, waits_for_earlier = loaded
    adapter = adapter_for(inbox.channel_type)
    if adapter is None:
        return _Unsendable(f"Messages cannot be sent through {inbox.channel_type.value} inboxes")
    if waits_for_earlier:
        await _wait_for_earlier_replies(session, message)
    try:
        outbound = await _outbound_message(session, runtime, message, address, adapter, job_id)
    except UnprocessableEntity as exc:
        return _Unsendable(exc.message)
    return _Delivery(message, conversation, inbox, adapter, outbound)


async def _within_rate(
    runtime: Runtime, prepared: list[tuple[ChunkJob, _Delivery | _Unsendable]], failures: dict[int, BaseException]
) -> list[tuple[ChunkJob, _Delivery | _Unsendable]]:
    """The sends each number's rate allows now, taken from its bucket with one call per number (in claim
    order); the others snooze until their turn."""
    buckets: dict[int, tuple[float, list[ChunkJob]]] = {}
    for item, delivery in prepared:
        if isinstance(delivery, _Delivery) and (rate := rate_per_second(delivery.inbox, delivery.adapter)):
            buckets.setdefault(delivery.inbox.id, (rate, []))[1].append(item)
    for inbox_id, (rate, items) in buckets.items():
        waits = await send_rate_limiter(runtime).acquire(f"inbox:{inbox_id}", rate, len(items))
        for item, wait in zip(items, waits, strict=True):
            if wait > 0:
                failures[item.ctx.job_id] = Snooze(wait)
    return [(item, delivery) for item, delivery in prepared if item.ctx.job_id not in failures]


async def _send(runtime: Runtime, ctx: JobContext, delivery: _Delivery) -> SentMessage | None:
    """The provider's answer to one send; None when the reply was marked failed instead."""
    try:
        return await delivery.adapter.send(
            delivery.inbox, InboxCredentials(delivery.inbox, runtime.cipher), delivery.outbound, runtime.http
        )
    except DeliveryError as error:
        await _refused(ctx, runtime, delivery, error)
    except httpx.TransportError as exc:
        await _refused(ctx, runtime, delivery, DeliveryError(f"Network error: {exc}", retryable=True))
    return None


_EARLIER_REPLY = aliased(Message, name="earlier_reply")


@functools.cache
def _pending_delivery_statement(postgres: bool) -> Select[tuple[Message, Conversation, Inbox, ContactInbox, bool]]:
    # Built once, with bound values: building it, with its alias, took ~15 % of the delivery worker's CPU
    # in the full-loop profile (an alias copies the table's columns).
    earlier = _EARLIER_REPLY
    waits_for_earlier = exists().where(
        earlier.conversation_id == Message.conversation_id, earlier.id < Message.id,
        earlier.status == MessageStatus.pending,
    )
    return (
        select(Message, Conversation, Inbox, ContactInbox, waits_for_earlier)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Inbox, Inbox.id == Message.inbox_id)
        .outerjoin(ContactInbox, ContactInbox.id == Conversation.contact_inbox_id)
        .where(one_of(Message.id, "message_ids", postgres=postgres))
        .options(joinedload(Message.attachments))
    )


_Pending = tuple[Message, Conversation, Inbox, ContactInbox | None, bool]


async def _load_pending(session: AsyncSession, message_ids: list[int]) -> dict[int, _Pending]:
    """The pending replies among `message_ids`, each with its attachments, conversation, inbox and customer
    address, in one statement, and whether an earlier reply of its conversation is still pending."""
    rows = (await session.execute(_pending_delivery_statement(is_postgres(session)), {"message_ids": message_ids})).unique()
    return {
        message.id: (message, conversation, inbox, address, bool(waits))
        for message, conversation, inbox, address, waits in rows
        if message.status == MessageStatus.pending
    }


async def _wait_for_earlier_replies(session: AsyncSession, message: Message) -> None:
    """Snooze while an earlier reply of the conversation still has a live delivery job.

    The concurrency key runs one delivery per conversation at a time, but a retried or snoozed job gives
    the key up; this keeps the customer's order. An earlier reply whose job is over (failed, or gone)
    does not hold the later ones back."""
    earlier = await MessageRepository(session, message.account_id).pending_before(message.conversation_id, message.id)
    if not earlier:
        return
    due = await session.scalar(
        select(Job.scheduled_at)
        .where(
            Job.dedupe_key.in_([f"deliver:{message_id}" for message_id in earlier]),
            Job.state.in_(LIVE_STATES),
        )
        .order_by(Job.scheduled_at)
        .limit(1)
    )
    if due is not None:
        raise Snooze(min(max((due - utcnow()).total_seconds(), 0.0) + 0.1, _PREDECESSOR_POLL_SECONDS))


async def _outbound_message(
    session: AsyncSession, runtime: Runtime, message: Message, address: ContactInbox | None, adapter: ChannelAdapter,
    job_id: int,
) -> OutboundMessage:
    if address is None:
        raise UnprocessableEntity(_("The conversation has no address of the customer in this inbox"))
    template_params = message.additional_attributes.get("template_params")
    interactive = interactive_of(adapter, message.content, message.content_type, message.content_attributes)
    attachments = message.attachments
    return OutboundMessage(
        to=address.source_id,
        text=message.content,
        reply_to_source_id=await _quoted_source_id(session, message),
        media=tuple(_outgoing_media(runtime, attachment) for attachment in attachments),
        buttons=interactive.buttons,
        list_button=interactive.list_button,
        sections=interactive.sections,
        template=template_of(template_params) if template_params else None,
        idempotency_key=str(job_id),
    )


async def _quoted_source_id(session: AsyncSession, message: Message) -> str | None:
    quoted_id = message.content_attributes.get("in_reply_to")
    if not isinstance(quoted_id, int):
        return None
    quoted = await MessageRepository(session, message.account_id).get_in_conversation(message.conversation_id, quoted_id)
    return quoted.source_id if quoted is not None else None


def _outgoing_media(runtime: Runtime, attachment: Attachment) -> OutgoingMedia:
    # A file we hold goes by signed link: the provider fetches it from NEXA_PUBLIC_URL, so that must be
    # reachable from the internet (docs/channels/delivery.md).
    url = signed_media_url(runtime.settings, attachment.id) if attachment.file_key else attachment.external_url
    if not url:
        raise UnprocessableEntity(_("An attachment has neither a stored file nor a link"))
    return OutgoingMedia(
        file_type=attachment.file_type, url=url, filename=attachment.meta.get("filename"),
        mime_type=attachment.content_type,
    )


async def _refused(ctx: JobContext, runtime: Runtime, delivery: _Delivery, error: DeliveryError) -> None:
    """Permanent: failed with the provider's reason. Retryable: again later, until the attempts run out."""
    limit = runtime.settings.delivery_max_attempts
    if error.retryable and ctx.attempt < limit:
        ctx.logger.warning(
            "delivery refused, will retry",
            extra={"message_id": delivery.message.id, "attempt": ctx.attempt, "reason": error.reason, "code": error.code},
        )
        if error.retry_after:
            raise Snooze(error.retry_after)
        raise error
    reason = (
        f"Could not reach {channel_name(delivery.inbox)} after {ctx.attempt} attempts: {error.reason}"
        if error.retryable else error.reason
    )
    await _record_failure(ctx.database, delivery.message.id, reason)


async def _record_failure(database: Database, message_id: int, reason: str) -> None:
    async with database.session() as session:
        rows = messages.message_rows(await session.execute(_replies_statement(is_postgres(session)), {"message_ids": [message_id]}))
        if not rows:
            return
        logger.info("message not delivered", extra={"message_id": message_id, "reason": reason})
        if await messages.apply_status(session, rows[0], rows[0].conversation, MessageStatus.failed, external_error=reason):
            await messages.write_statuses(session, rows)


@functools.cache
def _replies_statement(postgres: bool) -> Select[Any]:
    return messages.select_message_rows().where(one_of(Message.id, "message_ids", postgres=postgres))


async def _mark_sent(session: AsyncSession, sent: Sequence[tuple[ChunkJob, SentMessage]]) -> None:
    answers = {item.args["message_id"]: answer for item, answer in sent}
    rows = messages.message_rows(await session.execute(_replies_statement(is_postgres(session)), {"message_ids": list(answers)}))
    for row in rows:
        await messages.apply_status(session, row, row.conversation, MessageStatus.sent, source_id=answers[row.id].source_id)
    await apply_early_receipts(session, [(row, row.conversation) for row in rows])
    await messages.write_statuses(session, rows)


# --- read receipts and typing ----------------------------------------------------------------------------


async def enqueue_read_receipt(
    session: AsyncSession, conversation: Conversation, inbox: Inbox, *, since: datetime | None = None, typing: bool = False
) -> EnqueuedJob | None:
    """Tell the customer we read their latest message (and, with `typing`, that a reply is being typed).

    With `since`, only when that message arrived after it (an agent reopening a conversation they have
    seen does not resend the receipt). Nothing when the channel has neither feature."""
    adapter = adapter_for(inbox.channel_type)
    if adapter is None or not (adapter.capabilities.typing if typing else adapter.capabilities.read_receipts):
        return None
    last = await MessageRepository(session, inbox.account_id).last_incoming(inbox.id, conversation.contact_id)
    if last is None or last.source_id is None or last.conversation_id != conversation.id:
        return None
    if since is not None and last.created_at <= since:
        return None
    return await enqueue(
        session, MARK_READ_JOB, {"message_id": last.id, "typing": typing}, account_id=inbox.account_id,
        dedupe_key=f"read:{last.id}:{'typing' if typing else 'read'}",
    )


@job(MARK_READ_JOB, queue="deliveries", max_attempts=3, priority=5, timeout=30)
async def mark_read(ctx: JobContext, message_id: int, typing: bool = False) -> None:
    runtime = current_runtime()
    async with ctx.database.session(write=False) as session:
        message = await session.get(Message, message_id)
        inbox = await session.get(Inbox, message.inbox_id) if message is not None else None
    if message is None or inbox is None or message.source_id is None or message.message_type != MessageType.incoming:
        return
    adapter = adapter_for(inbox.channel_type)
    if adapter is None:
        return
    try:
        await adapter.mark_read(inbox, InboxCredentials(inbox, runtime.cipher), message.source_id, runtime.http, typing=typing)
    except DeliveryError as error:
        # A receipt is a courtesy: retried a little when the provider is busy, never worth failing loudly.
        if error.retryable and ctx.attempt < ctx.max_attempts:
            raise
        ctx.logger.info("read receipt not sent", extra={"message_id": message_id, "reason": error.reason})
