"""Conversations: creation, the state machine, assignment, priority, attributes and labels.

`change_status` is the one place a conversation changes state: reporting events, self-assignment and
realtime events hang off it, and so will handoff and auto-assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.analytics import service as analytics
from nexa.analytics.models import ReportingEventName
from nexa.analytics.repository import ReportingEventRepository
from nexa.auth.models import AccountUser
from nexa.auth.repository import MembershipRepository
from nexa.auth.service import enqueue_queue_assignment
from nexa.automation.triggers import record_trigger as record_automation_trigger
from nexa.contacts.models import Contact, ContactInbox
from nexa.conversations import activity
from nexa.conversations.models import Conversation, ConversationStatus, Priority
from nexa.conversations.repository import ConversationLabelRepository, ConversationRepository
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import AgentBotRepository, InboxMemberRepository
from nexa.kit.clock import utcnow
from nexa.kit.errors import NotFound, UnprocessableEntity, ValidationFailed
from nexa.kit.lazy_text import _
from nexa.labels.repository import normalize_title
from nexa.notifications import service as notifications
from nexa.realtime import Event, EventName, account_channel, conversation_channel, inbox_channel, publish
from nexa.teams.agents import memberships_of
from nexa.teams.models import Team
from nexa.teams.repository import TeamMemberRepository, TeamRepository
from nexa.tenancy.service import take_conversation_display_ids
from nexa.webhooks.outbox import record_event as record_webhook_event

if TYPE_CHECKING:
    from nexa.auth.dependencies import AccountContext


@dataclass(frozen=True)
class Actor:
    """Who causes a change: a member user, an agent bot, an automation rule, or nobody (the contact, the
    system). Activity lines name them."""

    user_id: int | None = None
    agent_bot_id: int | None = None
    automation: bool = False

    @property
    def is_human(self) -> bool:
        return self.user_id is not None

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.agent_bot_id is None and not self.automation


SYSTEM = Actor()
AUTOMATION = Actor(automation=True)


def _emit(session: AsyncSession, name: EventName, conversation: Conversation, data: dict[str, Any]) -> None:
    """The one place conversation changes reach realtime subscribers (after commit).

    Payloads carry ids and what changed; clients refetch the conversation, as Chatwoot rebuilds its
    payload at send time to avoid out-of-order data."""
    payload = {"id": conversation.display_id, "inbox_id": conversation.inbox_id, "status": conversation.status.value, **data}
    channels = [
        account_channel(conversation.account_id),
        inbox_channel(conversation.inbox_id),
        conversation_channel(conversation.id),
    ]
    publish(session, Event(name, payload, account_id=conversation.account_id, channels=channels))
    record_webhook_event(session, name, conversation.account_id, conversation_id=conversation.id, data=data)
    record_automation_trigger(session, name, conversation.account_id, conversation.id, status=conversation.status.value)


def agent_id_of(ctx: AccountContext) -> int | None:
    """The user whose inboxes bound what a request may see: agents; None for administrators and bots."""
    return None if ctx.is_admin or ctx.user is None else ctx.user.id


async def visible_to(
    session: AsyncSession, statement: Select[tuple[Conversation]], account_id: int, *, agent_id: int | None
) -> Select[tuple[Conversation]]:
    """Agents work the inboxes they are members of; administrators and bots see the whole account."""
    if agent_id is None:
        return statement
    inbox_ids = await InboxMemberRepository(session, account_id).inbox_ids_of_user(agent_id)
    return statement.where(Conversation.inbox_id.in_(inbox_ids))


def initial_status(inbox: Inbox) -> ConversationStatus:
    """New and reopened conversations go to the bot first when the inbox has one."""
    return ConversationStatus.pending if inbox.has_active_bot else ConversationStatus.open


async def create_conversation(
    session: AsyncSession,
    *,
    inbox: Inbox,
    contact: Contact,
    contact_inbox: ContactInbox | None,
    status: ConversationStatus | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    snoozed_until: datetime | None = None,
    additional_attributes: dict[str, Any] | None = None,
    custom_attributes: dict[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> Conversation:
    """A new conversation; one created already assigned (to an agent or a team) gets the activity line and
    the assignee's notification an assignment would give it, naming `actor`."""
    if assignee_id is not None:
        await assignable_membership(session, inbox.account_id, [inbox.id], assignee_id)
    team = await TeamRepository(session, inbox.account_id).get_or_404(team_id) if team_id is not None else None
    chosen = status or initial_status(inbox)
    require_snooze_time(chosen, snoozed_until)
    conversation = Conversation(
        account_id=inbox.account_id,
        display_id=(await take_conversation_display_ids(session, inbox.account_id))[0],
        inbox_id=inbox.id,
        contact_id=contact.id,
        contact_inbox_id=contact_inbox.id if contact_inbox else None,
        status=chosen,
        assignee_id=assignee_id,
        team_id=team_id,
        snoozed_until=snoozed_until if chosen == ConversationStatus.snoozed else None,
        additional_attributes=additional_attributes or {},
        custom_attributes=custom_attributes or {},
        last_activity_at=utcnow(),
    )
    session.add(conversation)
    await session.flush()
    _emit(session, EventName.CONVERSATION_CREATED, conversation, {})
    if assignee_id is not None:
        await activity.assignee_changed(session, conversation, actor)
        await notifications.assigned(session, conversation, actor)
    if team is not None:
        await activity.team_changed(session, conversation, actor, previous=None, current=team.name)
    return conversation


async def start_conversations(
    session: AsyncSession, inbox: Inbox, customers: Sequence[tuple[Contact, ContactInbox]]
) -> list[Conversation]:
    """A new conversation for each (contact, contact inbox), in order, as `create_conversation` makes one
    with its defaults, for the inbound pipeline's new customers: one counter UPDATE and one INSERT for all."""
    if not customers:
        return []
    display_ids = await take_conversation_display_ids(session, inbox.account_id, len(customers))
    now = utcnow()
    started = [
        Conversation(
            account_id=inbox.account_id, display_id=display_id, inbox_id=inbox.id, contact_id=contact.id,
            contact_inbox_id=contact_inbox.id, status=initial_status(inbox), additional_attributes={},
            custom_attributes={}, last_activity_at=now,
        )
        for display_id, (contact, contact_inbox) in zip(display_ids, customers, strict=True)
    ]
    session.add_all(started)
    await session.flush()
    for conversation in started:
        _emit(session, EventName.CONVERSATION_CREATED, conversation, {})
    return started


async def find_or_reopen_conversation(
    session: AsyncSession, *, inbox: Inbox, contact: Contact, contact_inbox: ContactInbox, latest: Conversation | None
) -> Conversation:
    """The conversation a new inbound message belongs to, given the contact inbox's `latest` conversation
    (the caller loads it: the inbound pipeline loads a whole batch's at once).

    The latest conversation while it is not resolved; a resolved one only when the inbox locks contacts
    to a single conversation (it is reopened: pending with a bot, else open); otherwise a new conversation.
    """
    if latest is not None and latest.status != ConversationStatus.resolved:
        return latest
    if latest is not None and inbox.lock_to_single_conversation:
        await change_status(session, latest, initial_status(inbox), actor=SYSTEM, inbox=inbox)
        return latest
    return await create_conversation(session, inbox=inbox, contact=contact, contact_inbox=contact_inbox)


def require_snooze_time(status: ConversationStatus | None, snoozed_until: datetime | None) -> None:
    if status == ConversationStatus.snoozed and snoozed_until is None:
        raise UnprocessableEntity(_("snoozed_until is required to snooze a conversation"))


def next_toggle_status(current: ConversationStatus, requested: ConversationStatus | None) -> ConversationStatus:
    """Chatwoot's toggle: without a status, open <-> resolved, and pending or snoozed become open."""
    if requested is not None:
        return requested
    return ConversationStatus.resolved if current == ConversationStatus.open else ConversationStatus.open


async def change_status(
    session: AsyncSession,
    conversation: Conversation,
    status: ConversationStatus,
    *,
    actor: Actor,
    inbox: Inbox,
    snoozed_until: datetime | None = None,
) -> bool:
    """Move the conversation to `status`; False when nothing changed.

    Records the reporting events of the transition, writes its activity line, self-assigns a human who
    opens an unassigned conversation, and announces the change.
    """
    require_snooze_time(status, snoozed_until)
    previous = conversation.status
    until = snoozed_until if status == ConversationStatus.snoozed else None
    if previous == status and conversation.snoozed_until == until:
        return False
    now = utcnow()
    conversation.status = status
    conversation.snoozed_until = until
    await _record_transition(session, conversation, previous, status, inbox=inbox, now=now)
    if status == ConversationStatus.resolved:
        conversation.waiting_since = None
    await activity.status_changed(session, conversation, previous, actor)
    if status == ConversationStatus.open and actor.is_human and conversation.assignee_id is None:
        await _set_assignee(session, conversation, actor.user_id, actor=actor)
    await session.flush()
    _emit(
        session,
        EventName.CONVERSATION_STATUS_CHANGED,
        conversation,
        {"changed_attributes": [{"status": {"previous_value": previous.value, "current_value": status.value}}]},
    )
    return True


async def _record_transition(
    session: AsyncSession,
    conversation: Conversation,
    previous: ConversationStatus,
    status: ConversationStatus,
    *,
    inbox: Inbox,
    now: datetime,
) -> None:
    def record(name: ReportingEventName, start: datetime) -> Any:
        return analytics.record(
            session, name, account_id=conversation.account_id, conversation_id=conversation.id, inbox=inbox,
            start=start, end=now, user_id=conversation.assignee_id,
        )

    if status == ConversationStatus.resolved:
        await record(ReportingEventName.conversation_resolved, conversation.created_at)
        if previous == ConversationStatus.pending:
            await record(ReportingEventName.conversation_bot_resolved, conversation.created_at)
    elif status == ConversationStatus.open and previous == ConversationStatus.pending:
        events = ReportingEventRepository(session, conversation.account_id)
        if not await events.exists(conversation.id, ReportingEventName.conversation_bot_handoff):
            await record(ReportingEventName.conversation_bot_handoff, conversation.created_at)
    elif status == ConversationStatus.open and previous == ConversationStatus.resolved:
        events = ReportingEventRepository(session, conversation.account_id)
        resolved_at = await events.latest_time(conversation.id, [ReportingEventName.conversation_resolved])
        await record(ReportingEventName.conversation_opened, resolved_at or conversation.created_at)


async def toggle_status(
    session: AsyncSession,
    conversation: Conversation,
    requested: ConversationStatus | None,
    *,
    actor: Actor,
    inbox: Inbox,
    snoozed_until: datetime | None = None,
) -> Conversation:
    target = next_toggle_status(conversation.status, requested)
    await change_status(session, conversation, target, actor=actor, inbox=inbox, snoozed_until=snoozed_until)
    return conversation


async def assignable_membership(
    session: AsyncSession, account_id: int, inbox_ids: Iterable[int], user_id: int
) -> AccountUser:
    """The membership of a user who may be assigned conversations of every one of `inbox_ids`."""
    memberships = await memberships_of(MembershipRepository(session, account_id), [user_id])
    if not memberships:
        raise NotFound()  # not a user of this account: as unknown as any other account's id
    members = InboxMemberRepository(session, account_id)
    for inbox_id in sorted(set(inbox_ids)):
        if user_id not in await members.assignable_user_ids(inbox_id):
            raise ValidationFailed(_("Assignee is not a member of this inbox"), ["assignee_id"])
    return memberships[0]


async def _set_assignee(session: AsyncSession, conversation: Conversation, user_id: int | None, *, actor: Actor) -> None:
    if conversation.assignee_id == user_id and (user_id is None or conversation.assignee_agent_bot_id is None):
        return
    previous = conversation.assignee_id
    conversation.assignee_id = user_id
    if user_id is not None:
        conversation.assignee_agent_bot_id = None  # a human assignee replaces a bot one (Chatwoot)
    await session.flush()
    if user_id != previous:
        await activity.assignee_changed(session, conversation, actor)
        await notifications.assigned(session, conversation, actor)
    _emit(session, EventName.ASSIGNEE_CHANGED, conversation, {"assignee_id": user_id})


async def assign_agent(
    session: AsyncSession, conversation: Conversation, user_id: int | None, *, inbox: Inbox, actor: Actor
) -> AccountUser | None:
    """Assign to an agent of the inbox (or an administrator); None unassigns."""
    membership = (
        await assignable_membership(session, inbox.account_id, [inbox.id], user_id) if user_id is not None else None
    )
    await _set_assignee(session, conversation, user_id, actor=actor)
    return membership


async def assign_agent_bot(session: AsyncSession, conversation: Conversation, agent_bot_id: int) -> Any:
    bot = await AgentBotRepository(session, conversation.account_id).get_or_404(agent_bot_id)
    conversation.assignee_agent_bot_id = bot.id
    conversation.assignee_id = None
    await session.flush()
    _emit(session, EventName.ASSIGNEE_CHANGED, conversation, {"assignee_agent_bot_id": bot.id})
    return bot


async def assign_team(
    session: AsyncSession, conversation: Conversation, team_id: int | None, *, actor: Actor
) -> Team | None:
    teams = TeamRepository(session, conversation.account_id)
    team = await teams.get_or_404(team_id) if team_id is not None else None
    previous = conversation.team_id
    conversation.team_id = team_id
    await session.flush()
    if team_id != previous:
        before = await teams.get(previous) if previous is not None else None
        await activity.team_changed(
            session, conversation, actor, previous=before.name if before else None, current=team.name if team else None
        )
    _emit(session, EventName.TEAM_CHANGED, conversation, {"team_id": team_id})
    if team is not None and team_id != previous and conversation.assignee_id is not None:
        # The agent must belong to the team the conversation now is with (Chatwoot unassigns too); the
        # conversation then waits for one of its members.
        team_members = await TeamMemberRepository(session, conversation.account_id).user_ids(team.id)
        if conversation.assignee_id not in team_members:
            await _set_assignee(session, conversation, None, actor=actor)
    if team is not None and conversation.status == ConversationStatus.open and conversation.assignee_id is None:
        # A waiting conversation routed to a team goes to one of its online members (nexa/bot/assignment.py).
        await enqueue_queue_assignment(session, conversation.account_id)
    return team


async def set_priority(
    session: AsyncSession, conversation: Conversation, priority: Priority | None, *, actor: Actor
) -> None:
    if conversation.priority == priority:
        return
    previous = conversation.priority
    conversation.priority = priority
    await session.flush()
    await activity.priority_changed(session, conversation, actor, previous)
    _emit_updated(session, conversation, "priority", previous, priority)


async def replace_custom_attributes(session: AsyncSession, conversation: Conversation, attributes: dict[str, Any]) -> None:
    previous = conversation.custom_attributes
    conversation.custom_attributes = dict(attributes)
    await session.flush()
    _emit_updated(session, conversation, "custom_attributes", previous, conversation.custom_attributes)


async def replace_labels(
    session: AsyncSession, conversation: Conversation, titles: list[str], *, actor: Actor
) -> list[str]:
    """Make the conversation's labels exactly `titles` (the one place they change)."""
    repository = ConversationLabelRepository(session, conversation.account_id)
    previous = await repository.titles(conversation.id)
    labels = await repository.replace(conversation.id, titles)
    if labels != previous:
        await activity.labels_changed(session, conversation, actor, previous, labels)
        _emit_updated(session, conversation, "label_list", previous, labels)
    return labels


async def change_labels(
    session: AsyncSession, conversation: Conversation, *, add: Sequence[str] = (), remove: Sequence[str] = (),
    actor: Actor,
) -> list[str]:
    """Add and remove some labels, keeping the others (automation's add_label, bulk actions)."""
    current = await ConversationLabelRepository(session, conversation.account_id).titles(conversation.id)
    dropped = {normalize_title(title) for title in remove}
    wanted = [title for title in [*current, *add] if normalize_title(title) not in dropped]
    return await replace_labels(session, conversation, wanted, actor=actor)


def _emit_updated(session: AsyncSession, conversation: Conversation, field: str, previous: Any, current: Any) -> None:
    def plain(value: Any) -> Any:
        return value.value if isinstance(value, Priority) else value

    change = {field: {"previous_value": plain(previous), "current_value": plain(current)}}
    _emit(session, EventName.CONVERSATION_UPDATED, conversation, {"changed_attributes": [change]})


async def mark_seen_by_agent(session: AsyncSession, conversation: Conversation, *, user_id: int | None) -> None:
    """An agent has the conversation open: its incoming messages count as read from now on, and so do their
    notifications about it."""
    now = utcnow()
    conversation.agent_last_seen_at = now
    if user_id is not None and conversation.assignee_id == user_id:
        conversation.assignee_last_seen_at = now
    await session.flush()
    if user_id is not None:
        await notifications.conversation_seen(session, conversation, user_id)


def announce_typing(session: AsyncSession, conversation: Conversation, *, on: bool, private: bool, user_id: int | None) -> None:
    """Other agents see who is typing (a private note too; the customer never sees that one)."""
    name = EventName.CONVERSATION_TYPING_ON if on else EventName.CONVERSATION_TYPING_OFF
    _emit(session, name, conversation, {"user_id": user_id, "is_private": private})


async def unassign_member(session: AsyncSession, account_id: int, user_id: int) -> None:
    """A member leaves the account: their unresolved conversations go back to the queue."""
    repository = ConversationRepository(session, account_id)
    statement = repository.select().where(
        Conversation.assignee_id == user_id, Conversation.status != ConversationStatus.resolved
    )
    for conversation in await repository.list(statement):
        await _set_assignee(session, conversation, None, actor=SYSTEM)


async def set_muted(session: AsyncSession, conversation: Conversation, muted: bool, *, actor: Actor) -> None:
    """A muted conversation stays as it is but notifies nobody (Chatwoot's mute)."""
    if conversation.muted == muted:
        return
    conversation.muted = muted
    await session.flush()
    await activity.muted_changed(session, conversation, actor)
    _emit_updated(session, conversation, "muted", not muted, muted)


async def mark_unread(session: AsyncSession, conversation: Conversation, last_incoming_at: datetime | None) -> None:
    """Agents see the latest customer message as unread again (seen up to just before it)."""
    seen = last_incoming_at - timedelta(seconds=1) if last_incoming_at is not None else None
    conversation.agent_last_seen_at = seen
    conversation.assignee_last_seen_at = seen
    await session.flush()
    _emit(session, EventName.CONVERSATION_READ, conversation, {"agent_last_seen_at": seen.isoformat() if seen else None})
