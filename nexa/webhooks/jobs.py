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
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.agent_bots.models import AgentBot
from nexa.auth import audit
from nexa.auth.models import User
from nexa.contacts.models import Contact, ContactInbox
from nexa.conversations import activity
from nexa.conversations import messages as conversation_messages
from nexa.conversations import service as conversations
from nexa.conversations.models import Conversation, ConversationStatus, Message, MessageStatus, MessageType
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.inboxes.service import read_credential
from nexa.jobs.chunks import with_queued_behind
from nexa.jobs.enqueue import enqueue
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
    events: frozenset[str] | None  # None: a webhook's own subscriptions were already applied


@dataclass
class _Subject:
    account: Account
    conversation: Conversation | None = None
    inbox: Inbox | None = None
    message: Message | None = None
    contact: Contact | None = None


# --- fan-out ----------------------------------------------------------------------------------------------


@job(FANOUT_JOB, queue=WEBHOOKS_QUEUE, max_attempts=20, timeout=60)
async def fanout(ctx: JobContext, **event: Any) -> None:
    """Fan this event and the account's events queued behind it out to their targets, in order, in one
    transaction: the account's key runs them one at a time, and alone each event paid a claim, a
    transaction and an outcome. If the batch fails, this job's own event goes again alone, as the inbound
    batches do, so one bad event fails only its own job."""
    async def work(session: AsyncSession, batch: list[dict[str, Any]]) -> None:
        for args in batch:
            await _fan_out(session, ctx.account_id, **args)

    await with_queued_behind(ctx, event, FANOUT_BATCH, work)


async def _fan_out(
    session: AsyncSession,
    account_id: int | None,
    event: str,
    inbox_id: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    contact_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    subject = await _load_subject(session, account_id, inbox_id, conversation_id, message_id, contact_id)
    if subject is None:
        return
    if subject.message is not None and subject.message.message_type == MessageType.activity:
        return  # activity lines are not sent (Chatwoot's webhook_sendable?)
    for name in _names(event, subject):
        targets = await _targets(session, name, subject)
        if not targets:
            continue
        body = await _body(session, name, subject, data or {})
        if body is not None:
            await _record(session, name, body, subject, targets)


def _names(event: str, subject: _Subject) -> list[str]:
    names = list(_WEBHOOK_NAMES.get(event, ()))
    if event == EventName.CONVERSATION_STATUS_CHANGED and subject.conversation is not None:
        status = subject.conversation.status.value
        if status in ("open", "resolved"):
            names.append(f"conversation_{'opened' if status == 'open' else 'resolved'}")
    return names


async def _load_subject(
    session: AsyncSession,
    account_id: int | None,
    inbox_id: int | None,
    conversation_id: int | None,
    message_id: int | None,
    contact_id: int | None,
) -> _Subject | None:
    account = await session.get(Account, account_id) if account_id is not None else None
    if account is None:
        return None
    subject = _Subject(account)
    if message_id is not None:
        subject.message = await session.get(Message, message_id)
        if subject.message is None:
            return None
    if inbox_id is not None:
        subject.inbox = await session.get(Inbox, inbox_id)
        if subject.inbox is None:
            return None
    if conversation_id is not None:
        subject.conversation = await session.get(Conversation, conversation_id)
        if subject.conversation is None:
            return None
        subject.inbox = await session.get(Inbox, subject.conversation.inbox_id)
    if contact_id is not None:
        subject.contact = await session.get(Contact, contact_id)
        if subject.contact is None:
            return None
    return subject


async def _targets(session: AsyncSession, name: str, subject: _Subject) -> list[_Target]:
    inbox = subject.inbox
    targets = [
        _Target(TargetKind.webhook, webhook.id, webhook.url, None)
        for webhook in await WebhookEndpointRepository(session, subject.account.id).subscribed(
            name, inbox.id if inbox else None
        )
    ]
    if inbox is None:
        return targets
    webhook_url = inbox.channel_config.get("webhook_url")
    if inbox.channel_type == ChannelType.api and webhook_url and name in _INBOX_EVENTS:
        targets.append(_Target(TargetKind.api_inbox, inbox.id, webhook_url, _INBOX_EVENTS))
    if inbox.agent_bot_id is not None and name in BOT_EVENTS:
        bot = await session.get(AgentBot, inbox.agent_bot_id)
        if bot is not None and bot.outgoing_url:
            targets.append(_Target(TargetKind.agent_bot, bot.id, bot.outgoing_url, BOT_EVENTS))
    return targets


async def _body(session: AsyncSession, name: str, subject: _Subject, data: dict[str, Any]) -> dict[str, Any] | None:
    if name == "webwidget_triggered":
        contact_inbox = await session.get(ContactInbox, data["contact_inbox_id"])
        if contact_inbox is None:
            return None  # the visitor was deleted since: nobody left to tell about
        body = await payloads.contact_inbox_data(session, contact_inbox, subject.account)
        return {"event": name, **body, "event_info": data.get("event_info", {})}
    if subject.message is not None:
        assert subject.conversation is not None and subject.inbox is not None
        body = await payloads.message_data(session, subject.message, subject.conversation, subject.inbox, subject.account)
        return {"event": name, **body}
    if subject.contact is not None:
        return {"event": name, **payloads.contact_data(subject.contact, subject.account)}
    if subject.conversation is None:
        assert subject.inbox is not None
        await InboxRepository(session, subject.account.id).load_templates(subject.inbox)
        return {"event": name, **payloads.inbox_data(subject.inbox)}
    conversation = await payloads.conversation_data(session, subject.conversation)
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


async def _record(
    session: AsyncSession, name: str, body: dict[str, Any], subject: _Subject, targets: list[_Target]
) -> None:
    event = WebhookEvent(
        account_id=subject.account.id,
        name=name,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        conversation_id=subject.conversation.id if subject.conversation else None,
        message_id=subject.message.id if subject.message else None,
    )
    session.add(event)
    await session.flush()
    for target in targets:
        delivery = WebhookDelivery(
            account_id=subject.account.id, event_id=event.id, target_kind=target.kind, target_id=target.id,
            url=target.url, state=DeliveryState.pending, attempts=0,
        )
        session.add(delivery)
        await session.flush()
        await enqueue_delivery(session, delivery)


async def enqueue_delivery(session: AsyncSession, delivery: WebhookDelivery, *, manual: bool = False) -> None:
    await enqueue(
        session, DELIVER_JOB, {"delivery_id": delivery.id, "manual": manual}, queue=WEBHOOKS_QUEUE,
        account_id=delivery.account_id, max_attempts=_JOB_ATTEMPTS_CEILING,
        concurrency_key=f"webhooks:target:{delivery.target_kind.value}:{delivery.target_id}",
    )


# --- delivery ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    url: str
    secret: str
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
    async with ctx.database.session() as session:
        request = await _prepare(session, runtime, delivery_id, manual=manual)
    if request is None:
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


async def _prepare(session: AsyncSession, runtime: Runtime, delivery_id: int, *, manual: bool) -> _Request | None:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or (delivery.state != DeliveryState.pending and not manual):
        return None
    event = await session.get(WebhookEvent, delivery.event_id)
    assert event is not None
    secret = await _target_secret(session, runtime, delivery, manual=manual)
    if secret is None:
        delivery.state = DeliveryState.failed
        delivery.error = "The target was removed or disabled"
        return None
    return _Request(delivery.url, secret, event.body, delivery.uuid)


async def _target_secret(session: AsyncSession, runtime: Runtime, delivery: WebhookDelivery, *, manual: bool) -> str | None:
    if delivery.target_kind == TargetKind.webhook:
        webhook = await session.get(WebhookEndpoint, delivery.target_id)
        if webhook is None or not (webhook.enabled or manual):
            return None
        return runtime.cipher.decrypt(webhook.encrypted_secret)
    if delivery.target_kind == TargetKind.api_inbox:
        inbox = await session.get(Inbox, delivery.target_id)
        if inbox is None:
            return None
        return read_credential(inbox, "webhook_secret", cipher=runtime.cipher) or ""
    bot = await session.get(AgentBot, delivery.target_id)
    if bot is None:
        return None
    return runtime.cipher.decrypt(bot.encrypted_secret) if bot.encrypted_secret else ""


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


async def _record_attempt(
    session: AsyncSession, runtime: Runtime, delivery_id: int, response: _Response, *, last_attempt: bool
) -> None:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = response.status
    delivery.response_body = response.body
    delivery.duration_ms = response.duration_ms
    delivery.error = response.error
    if response.ok:
        delivery.state = DeliveryState.succeeded
        delivery.delivered_at = now
    elif last_attempt:
        delivery.state = DeliveryState.failed
    await session.flush()
    if delivery.target_kind == TargetKind.webhook:
        await _track_webhook_health(session, runtime, delivery, response.ok, last_attempt=last_attempt)
    elif delivery.target_kind == TargetKind.api_inbox:
        await _update_api_message(session, delivery, response, last_attempt=last_attempt)
    elif delivery.target_kind == TargetKind.agent_bot and not response.ok and last_attempt:
        await _hand_off_from_bot(session, delivery)


async def _track_webhook_health(
    session: AsyncSession, runtime: Runtime, delivery: WebhookDelivery, ok: bool, *, last_attempt: bool
) -> None:
    """A success resets the failure count; failing for good (all attempts of a delivery, or too many failed
    attempts in a row) disables the webhook and tells the administrators."""
    webhook = await session.get(WebhookEndpoint, delivery.target_id)
    if webhook is None:
        return
    if ok:
        webhook.consecutive_failures = 0
        return
    webhook.consecutive_failures += 1
    limit = runtime.settings.webhook_disable_after_failures
    if not webhook.enabled or not (last_attempt or webhook.consecutive_failures >= limit):
        return
    webhook.enabled = False
    webhook.disabled_reason = (
        f"Disabled after {webhook.consecutive_failures} failed attempts in a row; last error: {delivery.error}"
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


async def _api_message(session: AsyncSession, delivery: WebhookDelivery) -> tuple[Message, Conversation] | None:
    """The outgoing reply this delivery carries to an API inbox, if it is one."""
    event = await session.get(WebhookEvent, delivery.event_id)
    if event is None or event.name != "message_created" or event.message_id is None:
        return None
    message = await session.get(Message, event.message_id)
    if message is None or message.message_type not in (MessageType.outgoing, MessageType.template) or message.private:
        return None
    conversation = await session.get(Conversation, message.conversation_id)
    return (message, conversation) if conversation is not None else None


async def _update_api_message(
    session: AsyncSession, delivery: WebhookDelivery, response: _Response, *, last_attempt: bool
) -> None:
    """An API inbox reaches its customer through webhook_url: a 2xx means sent, giving up means failed."""
    if not (response.ok or last_attempt):
        return
    found = await _api_message(session, delivery)
    if found is None:
        return
    message, conversation = found
    if response.ok:
        await conversation_messages.apply_status(session, message, conversation, MessageStatus.sent)
    else:
        reason = f"Could not deliver to the inbox webhook after {delivery.attempts} attempts: {response.error}"
        await conversation_messages.apply_status(
            session, message, conversation, MessageStatus.failed, external_error=reason
        )


async def _hand_off_from_bot(session: AsyncSession, delivery: WebhookDelivery) -> None:
    """A bot that cannot be reached must not keep a customer waiting: its pending conversation goes to humans."""
    event = await session.get(WebhookEvent, delivery.event_id)
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
