"""Automation rules: validation, matching a conversation (and message) against conditions, and actions.

Conditions use the same filter language and SQL as POST /conversations/filter, plus `message_type` and
`content` on message_created. Services never commit: the request or the evaluation job does.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.automation.models import AutomationRule
from nexa.automation.repository import AutomationRuleRepository
from nexa.automation.schemas import Action, RuleFields, RuleUpdate
from nexa.automation.triggers import current_depth
from nexa.conversations import messages
from nexa.conversations import service as conversations
from nexa.conversations.models import Conversation, ConversationStatus, Message, MessageType, Priority
from nexa.conversations.repository import ConversationRepository, filter_attributes
from nexa.inboxes.repository import InboxRepository
from nexa.jobs.enqueue import enqueue
from nexa.kit.errors import NexaError, UnprocessableEntity
from nexa.kit.filters import Attribute, FilterCondition, build_where
from nexa.kit.lazy_text import _

logger = logging.getLogger(__name__)

WEBHOOK_JOB = "automation.send_webhook"
_STATUSES = {s.value for s in ConversationStatus}
_PRIORITIES = {p.value for p in Priority}


def _attributes(account_id: int, with_message: bool) -> dict[str, Attribute]:
    attributes = filter_attributes(account_id)
    if with_message:
        attributes["message_type"] = Attribute(
            "text", Message.message_type, choices=frozenset(t.value for t in MessageType)
        )
        attributes["content"] = Attribute("text", Message.content)
    return attributes


def _check(account_id: int, event_name: str, conditions: list[FilterCondition], actions: list[Action]) -> None:
    """Refuse at save time what could only fail later, when the rule runs."""
    build_where(conditions, _attributes(account_id, event_name == "message_created"), Conversation.custom_attributes)
    for action in actions:
        params = action.action_params
        if action.action_name in ("send_message", "add_private_note", "send_webhook_event", "change_status",
                                  "assign_agent", "assign_team") and len(params) != 1:
            raise UnprocessableEntity(
                _("%(action)s takes exactly one value in action_params", action=action.action_name)
            )
        if action.action_name == "add_label" and not all(isinstance(p, str) and p.strip() for p in params):
            raise UnprocessableEntity(_("add_label takes label titles in action_params"))
        if action.action_name == "change_status" and params[0] not in _STATUSES - {"snoozed"}:
            raise UnprocessableEntity(
                _(
                    "change_status takes one of %(statuses)s",
                    statuses=", ".join(sorted(_STATUSES - {"snoozed"})),
                )
            )
        if action.action_name == "change_priority" and (len(params) != 1 or params[0] not in _PRIORITIES | {None, "nil"}):
            raise UnprocessableEntity(
                _(
                    "change_priority takes one of %(priorities)s or null",
                    priorities=", ".join(sorted(_PRIORITIES)),
                )
            )
        if action.action_name in ("assign_agent", "assign_team") and not _is_id_or_nil(params[0]):
            raise UnprocessableEntity(_('%(action)s takes an id or "nil"', action=action.action_name))
        if action.action_name == "send_webhook_event" and not str(params[0]).startswith(("http://", "https://")):
            raise UnprocessableEntity(_("send_webhook_event takes an http(s) URL"))


def _is_id_or_nil(value: Any) -> bool:
    return value in (None, "nil") or (isinstance(value, int) and not isinstance(value, bool)) or str(value).isdigit()


def _stored(conditions: list[FilterCondition], actions: list[Action]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        [c.model_dump(exclude_none=True) for c in conditions],
        [a.model_dump() for a in actions],
    )


async def create_rule(session: AsyncSession, account_id: int, fields: RuleFields) -> AutomationRule:
    _check(account_id, fields.event_name, fields.conditions, fields.actions)
    conditions, actions = _stored(fields.conditions, fields.actions)
    rule = AutomationRule(
        name=fields.name, description=fields.description, event_name=fields.event_name, conditions=conditions,
        actions=actions, active=fields.active,
    )
    return await AutomationRuleRepository(session, account_id).add(rule)


async def update_rule(session: AsyncSession, rule: AutomationRule, changes: RuleUpdate) -> AutomationRule:
    event_name = changes.event_name or rule.event_name
    conditions = changes.conditions or [FilterCondition.model_validate(c) for c in rule.conditions]
    actions = changes.actions or [Action.model_validate(a) for a in rule.actions]
    _check(rule.account_id, event_name, conditions, actions)
    rule.event_name = event_name
    rule.conditions, rule.actions = _stored(conditions, actions)
    for field in ("name", "description", "active"):
        if field in changes.model_fields_set and getattr(changes, field) is not None:
            setattr(rule, field, getattr(changes, field))
    await session.flush()
    return rule


async def clone_rule(session: AsyncSession, rule: AutomationRule) -> AutomationRule:
    copy = AutomationRule(
        name=rule.name, description=rule.description, event_name=rule.event_name, conditions=list(rule.conditions),
        actions=list(rule.actions), active=rule.active,
    )
    return await AutomationRuleRepository(session, rule.account_id).add(copy)


async def matches(session: AsyncSession, rule: AutomationRule, conversation: Conversation, message_id: int | None) -> bool:
    conditions = [FilterCondition.model_validate(c) for c in rule.conditions]
    with_message = message_id is not None
    where = build_where(conditions, _attributes(conversation.account_id, with_message), Conversation.custom_attributes)
    statement = select(Conversation.id).where(
        Conversation.account_id == conversation.account_id, Conversation.id == conversation.id, where
    )
    if with_message:
        statement = statement.where(Message.id == message_id, Message.conversation_id == Conversation.id)
    return await session.scalar(statement) is not None


async def evaluate(
    session: AsyncSession, account_id: int, conversation_id: int, events: list[str], message_id: int | None, depth: int
) -> None:
    """Run every active rule of `events` whose conditions hold, actions in order; a failing action is
    logged and the next one still runs."""
    conversation = await ConversationRepository(session, account_id).get(conversation_id)
    if conversation is None:
        return
    repository = AutomationRuleRepository(session, account_id)
    rules = [rule for event in events for rule in await repository.active_for(event)]
    token = current_depth.set(depth + 1)
    try:
        for rule in rules:
            if await matches(session, rule, conversation, message_id):
                for action in rule.actions:
                    await _run_safely(session, rule, conversation, Action.model_validate(action))
    finally:
        current_depth.reset(token)


async def _run_safely(session: AsyncSession, rule: AutomationRule, conversation: Conversation, action: Action) -> None:
    try:
        async with session.begin_nested():
            await _run(session, rule, conversation, action)
    except NexaError as exc:
        logger.warning(
            "automation action refused",
            extra={"rule_id": rule.id, "action": action.action_name, "reason": exc.message},
        )


async def _run(session: AsyncSession, rule: AutomationRule, conversation: Conversation, action: Action) -> None:
    params = action.action_params
    name = action.action_name
    inbox = await InboxRepository(session, conversation.account_id).get_or_404(conversation.inbox_id)
    if name in ("send_message", "add_private_note"):
        await messages.create_message(
            session, conversation, inbox=inbox, message_type=MessageType.outgoing, content=str(params[0]),
            sender=messages.Sender(), private=name == "add_private_note",
            additional_attributes={"automation_rule_id": rule.id},
        )
    elif name == "add_label":
        await conversations.change_labels(
            session, conversation, add=[str(p) for p in params], actor=conversations.AUTOMATION
        )
    elif name == "assign_agent":
        await conversations.assign_agent(
            session, conversation, _id_or_none(params[0]), inbox=inbox, actor=conversations.AUTOMATION
        )
    elif name == "assign_team":
        await conversations.assign_team(session, conversation, _id_or_none(params[0]), actor=conversations.AUTOMATION)
    elif name == "change_status":
        await conversations.change_status(
            session, conversation, ConversationStatus(params[0]), actor=conversations.AUTOMATION, inbox=inbox
        )
    elif name == "change_priority":
        priority = params[0] if params and params[0] not in (None, "nil") else None
        await conversations.set_priority(
            session, conversation, Priority(priority) if priority else None, actor=conversations.AUTOMATION
        )
    elif name == "send_webhook_event":
        await enqueue(
            session, WEBHOOK_JOB, {"url": str(params[0]), "rule_id": rule.id, "conversation_id": conversation.id},
            account_id=conversation.account_id,
        )


def _id_or_none(value: Any) -> int | None:
    return None if value in (None, "nil") else int(value)
