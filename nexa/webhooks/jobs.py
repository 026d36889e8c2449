"""Webhook jobs: fan a recorded domain event out to its targets, then deliver each (signed, retried).

- `webhooks.fanout` (enqueued by nexa.webhooks.outbox in the domain's transaction) finds the targets,
  builds the body once per webhook event name, and writes an event row and one delivery row per target,
  each with its `webhooks.deliver` job. One account's fan-outs run one at a time, in order.
- `webhooks.deliver` posts one delivery; one target's deliveries run one at a time (concurrency key).
  Failed attempts are retried with exponential backoff (more than 24 h with the default settings); when
  they are used up the target's failure rule applies: an account webhook is disabled, an API inbox's
  outgoing message is marked failed, a bot's pending conversation is handed to the team.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.agent_bots.models import AgentBot
from nexa.auth import audit
from nexa.auth.models import User
from nexa.contacts.models import Contact, ContactInbox
from nexa.contacts.repository import ContactRepository
from nexa.conversations import activity
from nexa.conversations import messages as conversation_messages
from nexa.conversations import service as conversations
from nexa.conversations.models import Conversation, ConversationStatus, Message, MessageStatus, MessageType
from nexa.conversations.repository import ConversationRepository, MessageRepository
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.inboxes.service import read_credential
from nexa.jobs.chunks import with_queued_behind
from nexa.jobs.enqueue import add_job, enqueue
from nexa.jobs.registry import JobContext, job
from nexa.kit.clock import utcnow
from nexa.kit.crypto import sign
from nexa.kit.urls import refuse_private_target
from nexa.realtime import Event, EventName, account_channel, publish
from nexa.runtime import Runtime, current_runtime
from nexa.tenancy.models import Account
from nexa.webhooks import payloads
from nexa.webhooks.models import DeliveryState, TargetKind, WebhookDelivery, WebhookEndpoint, WebhookEvent
from nexa.webhooks.outbox import FANOUT_JOB, WEBHOOKS_QUEUE
from nexa.webhooks.repository import WebhookEndpointRepository

logger = logging.getLogger(__name__)

DELIVER_JOB = "webhooks.deliver"
# Events per fan-out transaction: as the inbound batches (nexa/channels/inbound_queue.py).
FANOUT_BATCH = 50
REQUEST_TIMEOUT_SECONDS = 5.0
RESPONSE_EXCERPT_CHARS = 2000
BOT_HANDOFF_NOTE = "The bot did not answer: handed to the team"
# The job table's own ceiling; the real limit is Settings.webhook_max_attempts, checked by the job so the
# last attempt can apply the target's failure rule.
_JOB_ATTEMPTS_CEILING = 1000

# Webhook event names each domain event becomes (a status change is also a conversation update).
_WEBHOOK_NAMES: dict[str, tuple[str, ...]] = {
    EventName.MESSAGE_CREATED: ("message_created",),
    EventName.MESSAGE_UPDATED: ("message_updated",),
    EventName.CONVERSATION_CREATED: ("conversation_created",),
    EventName.CONVERSATION_STATUS_CHANGED: ("conversation_status_changed", "conversation_updated"),
    EventName.CONVERSATION_UPDATED: ("conversation_updated",),
    EventName.ASSIGNEE_CHANGED: ("conversation_updated",),
    EventName.TEAM_CHANGED: ("conversation_updated",),
    EventName.CONVERSATION_TYPING_ON: ("conversation_typing_on",),
    EventName.CONVERSATION_TYPING_OFF: ("conversation_typing_off",),
    EventName.CONTACT_CREATED: ("contact_created",),
    EventName.CONTACT_UPDATED: ("contact_updated",),
    "inbox_created": ("inbox_created",),
    "inbox_updated": ("inbox_updated",),
    "webwidget_triggered": ("webwidget_triggered",),
}
# Agent bots get these (Chatwoot's AgentBotListener, with the 2026 additions).
BOT_EVENTS = frozenset({
    "message_created", "message_updated", "webwidget_triggered", "conversation_opened", "conversation_resolved",
    "conversation_status_changed", "conversation_updated",
})
# An API inbox's webhook_url gets every event about its conversations.
_INBOX_EVENTS = frozenset({
    "message_created", "message_updated", "webwidget_triggered", "conversation_created",
    "conversation_status_changed", "conversation_updated", "conversation_typing_on", "conversation_typing_off",
})


class DeliveryFailed(Exception):
    """An attempt that did not get a 2xx: the job is retried with backoff."""


def webhook_backoff(attempt: int) -> float:
    """NEXA_WEBHOOK_RETRY_BASE_SECONDS * 2^(attempt-1), capped, +-10 % jitter (outages end together)."""
    settings = current_runtime().settings
    base = min(settings.webhook_retry_base_seconds * 2 ** max(0, attempt - 1), settings.webhook_retry_max_seconds)
    return base * random.uniform(0.9, 1.1)


@dataclass(frozen=True)
class _Target:
    kind: TargetKind
    id: int
    url: str


@dataclass
class _Subject:
    account: Account
    conversation: Conversation | None = None
    inbox: Inbox | None = None
    message: Message | None = None
    contact: Contact | None = None

    def lane(self) -> str:
        """What a target's deliveries are ordered by: the events about one conversation (or contact, or
        inbox) reach each target one at a time in order, while other conversations' go alongside."""
        if self.conversation is not None:
            return _conversation_lane(self.conversation.id)
        if self.contact is not None:
            return f"contact:{self.contact.id}"
        if self.inbox is not None:
            return f"inbox:{self.inbox.id}"
        return "account"


# --- fan-out ----------------------------------------------------------------------------------------------


@job(FANOUT_JOB, queue=WEBHOOKS_QUEUE, max_attempts=20, timeout=60)
async def fanout(ctx: JobContext, **event: Any) -> None:
    """Fan this event and the account's events queued behind it out to their targets, in order, in one
    transaction: the account's key runs them one at a time, and alone each event paid a claim, a
    transaction and an outcome. If the batch fails, this job's own event goes again alone, as the inbound
    batches do, so one bad event fails only its own job."""
    async def work(session: AsyncSession, batch: list[dict[str, Any]]) -> None:
        fan_out = await _FanOut.start(session, ctx.account_id, batch)
        if fan_out is None:
            return
        for args in batch:
            await fan_out.add(**args)
        await fan_out.write()

    await with_queued_behind(ctx, event, FANOUT_BATCH, work)


@dataclass(frozen=True)
class _Recorded:
    """A webhook event to store, with its deliveries."""

    name: str
    body: str
    conversation_id: int | None
    message_id: int | None
    lane: str
    targets: list[_Target]


class _FanOut:
    """One batch of an account's events, fanned out with a statement per kind of row rather than per event:
    what the events are about, the account's webhooks and the bodies' shared parts are read once
    (`start`), and the events, deliveries and delivery jobs are written together (`write`)."""

    def __init__(
        self, session: AsyncSession, account: Account, webhooks: Sequence[WebhookEndpoint], rows: _Rows
    ) -> None:
        self._session = session
        self._account = account
        self._webhooks = webhooks
        self._rows = rows
        self._bodies = payloads.Bodies(session, account)
        self._recorded: list[_Recorded] = []

    @classmethod
    async def start(cls, session: AsyncSession, account_id: int | None, batch: list[dict[str, Any]]) -> _FanOut | None:
        account = await session.get(Account, account_id) if account_id is not None else None
        if account is None:
            return None
        webhooks = await WebhookEndpointRepository(session, account.id).enabled()
        fan_out = cls(session, account, webhooks, await _Rows.read(session, account.id, batch))
        await fan_out._bodies.preload(list(fan_out._rows.conversations.values()), list(fan_out._rows.messages.values()))
        return fan_out

    async def add(
        self,
        event: str,
        inbox_id: int | None = None,
        conversation_id: int | None = None,
        message_id: int | None = None,
        contact_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        subject = self._rows.subject(self._account, inbox_id, conversation_id, message_id, contact_id)
        if subject is None:
            return
        if subject.message is not None and subject.message.message_type == MessageType.activity:
            return  # activity lines are not sent (Chatwoot's webhook_sendable?)
        for name in _names(event, subject):
            targets = await self._targets(name, subject)
            if not targets:
                continue
            body = await _body(self._session, self._bodies, name, subject, data or {})
            if body is not None:
                self._recorded.append(_Recorded(
                    name, json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    subject.conversation.id if subject.conversation else None,
                    subject.message.id if subject.message else None,
                    subject.lane(),
                    targets,
                ))

    async def _targets(self, name: str, subject: _Subject) -> list[_Target]:
        inbox = subject.inbox
        targets = [
            _Target(TargetKind.webhook, webhook.id, webhook.url)
            for webhook in self._webhooks
            if name in webhook.subscriptions and webhook.inbox_id in (None, inbox.id if inbox else None)
        ]
        if inbox is None:
            return targets
        webhook_url = inbox.channel_config.get("webhook_url")
        if inbox.channel_type == ChannelType.api and webhook_url and name in _INBOX_EVENTS:
            targets.append(_Target(TargetKind.api_inbox, inbox.id, webhook_url))
        if inbox.agent_bot_id is not None and name in BOT_EVENTS:
            bot = await self._rows.agent_bot(self._session, inbox.agent_bot_id)
            if bot is not None and bot.outgoing_url:
                targets.append(_Target(TargetKind.agent_bot, bot.id, bot.outgoing_url))
        return targets

    async def write(self) -> None:
        """The batch's events, then their deliveries, each with one INSERT in the batch's order; the delivery
        jobs are written by the commit (add_job), so each target's deliveries are queued in that order too."""
        if not self._recorded:
            return
        account_id = self._account.id
        event_ids = (await self._session.scalars(
            insert(WebhookEvent).returning(WebhookEvent.id, sort_by_parameter_order=True),
            [
                {"account_id": account_id, "name": r.name, "body": r.body, "conversation_id": r.conversation_id,
                 "message_id": r.message_id}
                for r in self._recorded
            ],
            execution_options=_ONE_SHAPE,
        )).all()
        targets = [(event_id, r.lane, target) for event_id, r in zip(event_ids, self._recorded, strict=True) for target in r.targets]
        delivery_ids = (await self._session.scalars(
            insert(WebhookDelivery).returning(WebhookDelivery.id, sort_by_parameter_order=True),
            [
                {"account_id": account_id, "event_id": event_id, "target_kind": target.kind, "target_id": target.id,
                 "url": target.url, "state": DeliveryState.pending, "attempts": 0}
                for event_id, _, target in targets
            ],
            execution_options=_ONE_SHAPE,
        )).all()
        for delivery_id, (_, lane, target) in zip(delivery_ids, targets, strict=True):
            add_job(self._session, DELIVER_JOB, **_delivery_job(delivery_id, account_id, target.kind, target.id, lane))
        self._recorded.clear()


# Nulls as values, so that every row has the same columns: the ORM's bulk INSERT leaves a None out, and rows
# with other columns than the one before start another statement.
_ONE_SHAPE = {"render_nulls": True}


def _ids(batch: list[dict[str, Any]], key: str) -> set[int]:
    return {args[key] for args in batch if args.get(key) is not None}


def _names(event: str, subject: _Subject) -> list[str]:
    names = list(_WEBHOOK_NAMES.get(event, ()))
    if event == EventName.CONVERSATION_STATUS_CHANGED and subject.conversation is not None:
        status = subject.conversation.status.value
        if status in ("open", "resolved"):
            names.append(f"conversation_{'opened' if status == 'open' else 'resolved'}")
    return names


@dataclass
class _Rows:
    """What a fan-out batch's events are about, read with a select per kind. Held here, not only in the
    session: its identity map keeps rows weakly, so a row nothing refers to would be read again."""

    messages: dict[int, Message]
    conversations: dict[int, Conversation]
    inboxes: dict[int, Inbox]
    contacts: dict[int, Contact]
    agent_bots: dict[int, AgentBot | None]

    @classmethod
    async def read(cls, session: AsyncSession, account_id: int, batch: list[dict[str, Any]]) -> _Rows:
        messages = await MessageRepository(session, account_id).with_attachments(_ids(batch, "message_id"))
        conversations = await ConversationRepository(session, account_id).by_ids(
            _ids(batch, "conversation_id") | {m.conversation_id for m in messages.values()}
        )
        inboxes = await InboxRepository(session, account_id).by_ids(
            _ids(batch, "inbox_id") | {c.inbox_id for c in conversations.values()}
        )
        contacts = await ContactRepository(session, account_id).by_ids(_ids(batch, "contact_id"))
        return cls(messages, conversations, inboxes, contacts, {})

    def subject(
        self,
        account: Account,
        inbox_id: int | None,
        conversation_id: int | None,
        message_id: int | None,
        contact_id: int | None,
    ) -> _Subject | None:
        """None when a row the event is about was deleted since."""
        subject = _Subject(account)
        if message_id is not None:
            subject.message = self.messages.get(message_id)
            if subject.message is None:
                return None
        if inbox_id is not None:
            subject.inbox = self.inboxes.get(inbox_id)
            if subject.inbox is None:
                return None
        if conversation_id is not None:
            subject.conversation = self.conversations.get(conversation_id)
            if subject.conversation is None:
                return None
            subject.inbox = self.inboxes.get(subject.conversation.inbox_id)
        if contact_id is not None:
            subject.contact = self.contacts.get(contact_id)
            if subject.contact is None:
                return None
        return subject

    async def agent_bot(self, session: AsyncSession, bot_id: int) -> AgentBot | None:
        if bot_id not in self.agent_bots:
            self.agent_bots[bot_id] = await session.get(AgentBot, bot_id)
        return self.agent_bots[bot_id]


async def _body(
    session: AsyncSession, bodies: payloads.Bodies, name: str, subject: _Subject, data: dict[str, Any]
) -> dict[str, Any] | None:
    if name == "webwidget_triggered":
        contact_inbox = await session.get(ContactInbox, data["contact_inbox_id"])
        if contact_inbox is None:
            return None  # the visitor was deleted since: nobody left to tell about
        body = await bodies.contact_inbox(contact_inbox)
        return {"event": name, **body, "event_info": data.get("event_info", {})}
    if subject.message is not None:
        assert subject.conversation is not None and subject.inbox is not None
        body = await bodies.message(subject.message, subject.conversation, subject.inbox)
        return {"event": name, **body}
    if subject.contact is not None:
        return {"event": name, **payloads.contact_data(subject.contact, subject.account)}
    if subject.conversation is None:
        assert subject.inbox is not None
        await InboxRepository(session, subject.account.id).load_templates(subject.inbox)
        return {"event": name, **payloads.inbox_data(subject.inbox)}
    conversation = await bodies.conversation(subject.conversation)
    if name.startswith("conversation_typing_"):
        user = await session.get(User, data["user_id"]) if data.get("user_id") else None
        return {
            "event": name,
            "user": payloads.user_data(user) if user else None,
            "conversation": conversation,
            "is_private": bool(data.get("is_private")),
        }
    body = {"event": name, **conversation}
    if "changed_attributes" in data:
        body["changed_attributes"] = data["changed_attributes"]
    else:
        changed = {key: {"current_value": value} for key, value in data.items() if key.endswith("_id")}
        if changed:
            body["changed_attributes"] = [changed]
    return body


def _conversation_lane(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def _delivery_job(
    delivery_id: int, account_id: int, target_kind: TargetKind, target_id: int, lane: str, *, manual: bool = False
) -> dict[str, Any]:
    """A delivery job's args and options: a target's deliveries of one lane (_Subject.lane) run one at a
    time, in order."""
    return {
        "args": {"delivery_id": delivery_id, "manual": manual},
        "queue": WEBHOOKS_QUEUE,
        "account_id": account_id,
        "max_attempts": _JOB_ATTEMPTS_CEILING,
        "concurrency_key": f"webhooks:target:{target_kind.value}:{target_id}:{lane}",
    }


async def redeliver(session: AsyncSession, delivery: WebhookDelivery, event: WebhookEvent) -> None:
    """Send a delivery again, even to a disabled webhook: in its conversation's lane, behind what is queued there."""
    lane = _conversation_lane(event.conversation_id) if event.conversation_id else f"delivery:{delivery.id}"
    await enqueue(
        session, DELIVER_JOB,
        **_delivery_job(delivery.id, delivery.account_id, delivery.target_kind, delivery.target_id, lane, manual=True),
    )


# --- delivery ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    url: str
    secret: str | None
    body: str
    delivery_uuid: str


@dataclass(frozen=True)
class _Response:
    status: int | None
    body: str | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@job(DELIVER_JOB, queue=WEBHOOKS_QUEUE, max_attempts=_JOB_ATTEMPTS_CEILING, timeout=30, backoff=webhook_backoff)
async def deliver(ctx: JobContext, delivery_id: int, manual: bool = False) -> None:
    runtime = current_runtime()
    async with ctx.database.session(write=False) as session:
        request = await _prepare(session, runtime, delivery_id, manual=manual)
    if request is None:
        return
    if request.secret is None:
        async with ctx.database.session() as session:
            await _give_up(session, delivery_id, "The target was removed or disabled")
        return
    refusal = await refuse_private_target(request.url, runtime.settings)
    response = (
        _Response(None, None, 0, refusal) if refusal else await _post(runtime.http, request)
    )
    last_attempt = ctx.attempt >= runtime.settings.webhook_max_attempts or refusal is not None
    async with ctx.database.session() as session:
        await _record_attempt(session, runtime, delivery_id, response, last_attempt=last_attempt)
    if not response.ok and not last_attempt:
        raise DeliveryFailed(response.error or f"HTTP {response.status}")


_deliveries = WebhookDelivery.__table__
_events = WebhookEvent.__table__
_webhooks = WebhookEndpoint.__table__
# Every post runs these three: built once and run with parameters (built per post, the statements and
# their cache keys were a tenth of the webhooks worker's CPU).
_TO_POST = (
    select(
        _deliveries.c.state, _deliveries.c.url, _deliveries.c.uuid, _deliveries.c.target_kind,
        _deliveries.c.target_id, _events.c.body, _webhooks.c.encrypted_secret, _webhooks.c.enabled,
    )
    .join(_events, _events.c.id == _deliveries.c.event_id)
    .outerjoin(_webhooks, (_deliveries.c.target_kind == TargetKind.webhook) & (_webhooks.c.id == _deliveries.c.target_id))
    .where(_deliveries.c.id == bindparam("p_delivery_id"))
)
_RECORD_ATTEMPT = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("p_delivery_id"))
    .values(
        attempts=_deliveries.c.attempts + 1,
        last_attempt_at=bindparam("p_now", type_=_deliveries.c.last_attempt_at.type),
        response_status=bindparam("p_status", type_=_deliveries.c.response_status.type),
        response_body=bindparam("p_body", type_=_deliveries.c.response_body.type),
        duration_ms=bindparam("p_duration_ms", type_=_deliveries.c.duration_ms.type),
        error=bindparam("p_error", type_=_deliveries.c.error.type),
        # Null: the state stays pending until the attempt succeeds or is the last.
        state=func.coalesce(bindparam("p_state", type_=_deliveries.c.state.type), _deliveries.c.state),
        delivered_at=func.coalesce(
            bindparam("p_delivered_at", type_=_deliveries.c.delivered_at.type), _deliveries.c.delivered_at
        ),
    )
    .returning(_deliveries.c.target_kind, _deliveries.c.event_id, _deliveries.c.target_id, _deliveries.c.attempts,
               _deliveries.c.error)
)
# Nearly always there is nothing to reset: a statement that changes nothing, not a read and a write.
_RESET_FAILURES = (
    update(_webhooks)
    .where(_webhooks.c.id == bindparam("p_webhook_id"), _webhooks.c.consecutive_failures != 0)
    .values(consecutive_failures=0)
)


async def _prepare(session: AsyncSession, runtime: Runtime, delivery_id: int, *, manual: bool) -> _Request | None:
    """The delivery to post, with its body and its target's secret (None: the target is gone or disabled),
    read with one statement for an account webhook."""
    found = (await session.execute(_TO_POST, {"p_delivery_id": delivery_id})).one_or_none()
    if found is None or (found.state != DeliveryState.pending and not manual):
        return None
    if found.target_kind == TargetKind.webhook:
        usable = found.encrypted_secret is not None and (found.enabled or manual)
        secret = runtime.cipher.decrypt(found.encrypted_secret) if usable else None
    else:
        secret = await _other_target_secret(session, runtime, found.target_kind, found.target_id)
    return _Request(found.url, secret, found.body, found.uuid)


async def _other_target_secret(session: AsyncSession, runtime: Runtime, kind: TargetKind, target_id: int) -> str | None:
    if kind == TargetKind.api_inbox:
        inbox = await session.get(Inbox, target_id)
        if inbox is None:
            return None
        return read_credential(inbox, "webhook_secret", cipher=runtime.cipher) or ""
    bot = await session.get(AgentBot, target_id)
    if bot is None:
        return None
    return runtime.cipher.decrypt(bot.encrypted_secret) if bot.encrypted_secret else ""


async def _give_up(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(state=DeliveryState.failed, error=error)
        .execution_options(synchronize_session=False)
    )


def signature_headers(secret: str, body: str, delivery_uuid: str, timestamp: int) -> dict[str, str]:
    """Chatwoot's signing (v4.11.2+): HMAC-SHA256 over "{timestamp}.{body}" with the target's secret."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Nexa-Webhooks/1",
        "X-Chatwoot-Signature": f"sha256={sign(secret, f'{timestamp}.{body}')}",
        "X-Chatwoot-Timestamp": str(timestamp),
        "X-Chatwoot-Delivery": delivery_uuid,
    }


async def _post(http: httpx.AsyncClient, request: _Request) -> _Response:
    headers = signature_headers(request.secret, request.body, request.delivery_uuid, int(time.time()))
    started = time.monotonic()
    try:
        response = await http.post(
            request.url, content=request.body.encode(), headers=headers, timeout=REQUEST_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return _Response(None, None, _elapsed_ms(started), f"Timed out after {REQUEST_TIMEOUT_SECONDS:g} s")
    except httpx.HTTPError as exc:
        return _Response(None, None, _elapsed_ms(started), f"Network error: {exc.__class__.__name__}: {exc}")
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return _Response(response.status_code, response.text[:RESPONSE_EXCERPT_CHARS], _elapsed_ms(started), error)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


@dataclass(frozen=True)
class _Attempt:
    """A delivery's attempt as recorded: what its target's rule needs."""

    event_id: int
    target_id: int
    attempts: int
    error: str | None


async def _record_attempt(
    session: AsyncSession, runtime: Runtime, delivery_id: int, response: _Response, *, last_attempt: bool
) -> None:
    now = utcnow()
    state = DeliveryState.succeeded if response.ok else DeliveryState.failed if last_attempt else None
    recorded = (await session.execute(_RECORD_ATTEMPT, {
        "p_delivery_id": delivery_id, "p_now": now, "p_status": response.status, "p_body": response.body,
        "p_duration_ms": response.duration_ms, "p_error": response.error, "p_state": state,
        "p_delivered_at": now if response.ok else None,
    })).one_or_none()
    if recorded is None:
        return
    attempt = _Attempt(recorded.event_id, recorded.target_id, recorded.attempts, recorded.error)
    if recorded.target_kind == TargetKind.webhook:
        await _track_webhook_health(session, runtime, attempt, response.ok, last_attempt=last_attempt)
    elif recorded.target_kind == TargetKind.api_inbox:
        await _update_api_message(session, attempt, response, last_attempt=last_attempt)
    elif recorded.target_kind == TargetKind.agent_bot and not response.ok and last_attempt:
        await _hand_off_from_bot(session, attempt)


async def _track_webhook_health(
    session: AsyncSession, runtime: Runtime, attempt: _Attempt, ok: bool, *, last_attempt: bool
) -> None:
    """A success resets the failure count; failing for good (all attempts of a delivery, or too many failed
    attempts in a row) disables the webhook and tells the administrators."""
    if ok:
        await session.execute(_RESET_FAILURES, {"p_webhook_id": attempt.target_id})
        return
    # One count for the target, whichever lane failed: an increment in SQL, then the lock of the row
    # for the one attempt that disables it.
    failures = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == attempt.target_id)
        .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
        .returning(WebhookEndpoint.consecutive_failures)
        .execution_options(synchronize_session=False)
    )
    if failures is None or not (last_attempt or failures >= runtime.settings.webhook_disable_after_failures):
        return
    webhook = await session.get(WebhookEndpoint, attempt.target_id, with_for_update=True)
    if webhook is None or not webhook.enabled:
        return
    webhook.enabled = False
    webhook.disabled_reason = (
        f"Disabled after {webhook.consecutive_failures} failed attempts in a row; last error: {attempt.error}"
    )
    await audit.record(
        session, "webhook.disabled", account_id=webhook.account_id, target_type="webhook", target_id=webhook.id,
        url=webhook.url, reason=webhook.disabled_reason,
    )
    notice = {
        "notification_type": "webhook_disabled", "webhook_id": webhook.id, "url": webhook.url,
        "reason": webhook.disabled_reason,
    }
    publish(session, Event(EventName.NOTIFICATION_CREATED, notice, account_id=webhook.account_id,
                           channels=[account_channel(webhook.account_id)]))


async def _api_message(session: AsyncSession, attempt: _Attempt) -> tuple[Message, Conversation] | None:
    """The outgoing reply this delivery carries to an API inbox, if it is one."""
    event = await session.get(WebhookEvent, attempt.event_id)
    if event is None or event.name != "message_created" or event.message_id is None:
        return None
    message = await session.get(Message, event.message_id)
    if message is None or message.message_type not in (MessageType.outgoing, MessageType.template) or message.private:
        return None
    conversation = await session.get(Conversation, message.conversation_id)
    return (message, conversation) if conversation is not None else None


async def _update_api_message(
    session: AsyncSession, attempt: _Attempt, response: _Response, *, last_attempt: bool
) -> None:
    """An API inbox reaches its customer through webhook_url: a 2xx means sent, giving up means failed."""
    if not (response.ok or last_attempt):
        return
    found = await _api_message(session, attempt)
    if found is None:
        return
    message, conversation = found
    if response.ok:
        await conversation_messages.apply_status(session, message, conversation, MessageStatus.sent)
    else:
        reason = f"Could not deliver to the inbox webhook after {attempt.attempts} attempts: {response.error}"
        await conversation_messages.apply_status(
            session, message, conversation, MessageStatus.failed, external_error=reason
        )


async def _hand_off_from_bot(session: AsyncSession, attempt: _Attempt) -> None:
    """A bot that cannot be reached must not keep a customer waiting: its pending conversation goes to humans."""
    event = await session.get(WebhookEvent, attempt.event_id)
    if event is None or event.conversation_id is None:
        return
    conversation = await session.get(Conversation, event.conversation_id)
    if conversation is None or conversation.status != ConversationStatus.pending:
        return
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None
    await conversations.change_status(
        session, conversation, ConversationStatus.open, actor=conversations.SYSTEM, inbox=inbox
    )
    await activity.write(session, conversation, BOT_HANDOFF_NOTE)
