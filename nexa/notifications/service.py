"""Notifications for agents (Chatwoot's): stored per user and account, announced on the user's own channel.

Created by the conversation services that make the change, in their transaction, so every path (API, web
app, bot, automation, bulk actions) gets them: a private note that mentions members
(nexa/conversations/messages.py) and an assignment to an agent (nexa/conversations/service.py). The
`notification.created` event reaches only the notified user, after commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.repository import MembershipRepository
from nexa.bot.models import BotConversation
from nexa.bot.repository import BotConversationRepository
from nexa.conversations.models import Conversation, Message, SenderType
from nexa.conversations.repository import ConversationRepository
from nexa.inboxes.repository import InboxMemberRepository
from nexa.kit.clock import utcnow
from nexa.notifications.mentions import mentioned_team_ids, mentioned_user_ids
from nexa.notifications.models import ActorType, Notification, NotificationType
from nexa.notifications.repository import NotificationRepository
from nexa.notifications.serializers import notifications_out
from nexa.realtime import Event, EventName, publish, user_channel
from nexa.teams.agents import memberships_of
from nexa.teams.repository import TeamMemberRepository

if TYPE_CHECKING:
    from nexa.conversations.service import Actor

# nexa.bot.handoff.HandoffReason.qualified, as the bot stores it (importing the bot's handoff here would
# import the conversation services that import this module).
_QUALIFIED = "qualified"


async def mentioned(session: AsyncSession, note: Message, conversation: Conversation) -> list[Notification]:
    """One conversation_mention per member a private note by an agent mentions (by name, or as a member of a
    mentioned team), except its author.

    Only members who may see the conversation (the inbox's agents and the administrators) can be
    mentioned: an id or a name of anyone else, in this account or another, is ignored."""
    if not (note.private and note.sender_type == SenderType.user and note.content and "@" in note.content):
        return []
    eligible = await InboxMemberRepository(session, conversation.account_id).assignable_user_ids(
        conversation.inbox_id
    )
    memberships = await memberships_of(MembershipRepository(session, conversation.account_id), eligible)
    names = {m.user_id: sorted({m.user.name, m.user.available_name}) for m in memberships}
    targets = mentioned_user_ids(note.content, names)
    team_members = TeamMemberRepository(session, conversation.account_id)
    for team_id in mentioned_team_ids(note.content):
        targets |= set(await team_members.user_ids(team_id)) & set(
            names
        )  # another account's team has none here
    targets -= {note.sender_id}
    return [
        await _create(
            session,
            conversation,
            user_id,
            NotificationType.conversation_mention,
            actor=(ActorType.user, note.sender_id),
            message_id=note.id,
        )
        for user_id in sorted(targets)
    ]


async def assigned(session: AsyncSession, conversation: Conversation, actor: Actor) -> Notification | None:
    """conversation_assignment for the new assignee, unless they assigned it to themselves; a lead the bot
    qualified and handed off, given to them by auto-assignment, is a qualified_lead_handoff instead."""
    assignee_id = conversation.assignee_id
    if assignee_id is None or assignee_id == actor.user_id:
        return None
    kind = NotificationType.conversation_assignment
    if actor.is_system and await _waiting_since_qualified_handoff(session, conversation):
        kind = NotificationType.qualified_lead_handoff
    who: tuple[ActorType, int] | None = None
    if actor.user_id is not None:
        who = (ActorType.user, actor.user_id)
    elif actor.agent_bot_id is not None:
        who = (ActorType.agent_bot, actor.agent_bot_id)
    return await _create(session, conversation, assignee_id, kind, actor=who)


async def _waiting_since_qualified_handoff(session: AsyncSession, conversation: Conversation) -> bool:
    """The bot handed the conversation off as a qualified lead and it has waited for an agent ever since
    (the handoff starts `waiting_since` at its own time; an agent's reply clears it)."""
    bots = BotConversationRepository(session, conversation.account_id)
    state = await session.scalar(bots.select().where(BotConversation.conversation_id == conversation.id))
    return (
        state is not None
        and state.handoff_reason == _QUALIFIED
        and state.handed_off_at is not None
        and conversation.waiting_since is not None
        and conversation.waiting_since <= state.handed_off_at
    )


async def _create(
    session: AsyncSession,
    conversation: Conversation,
    user_id: int,
    kind: NotificationType,
    *,
    actor: tuple[ActorType, int] | None,
    message_id: int | None = None,
) -> Notification:
    repository = NotificationRepository(session, conversation.account_id, user_id)
    notification = await repository.add(
        Notification(
            notification_type=kind,
            conversation_id=conversation.id,
            message_id=message_id,
            secondary_actor_type=actor[0] if actor else None,
            secondary_actor_id=actor[1] if actor else None,
        )
    )
    await _announce(session, repository, EventName.NOTIFICATION_CREATED, notification)
    return notification


async def _announce(
    session: AsyncSession, repository: NotificationRepository, name: EventName, notification: Notification
) -> None:
    """Chatwoot's `{notification, unread_count, count}`, to the notified user's channel only (after commit)."""
    (data,) = await notifications_out(session, repository.account_id, [notification])
    unread, count = await repository.counts()
    publish(
        session,
        Event(
            name,
            {"notification": data.model_dump(mode="json"), "unread_count": unread, "count": count},
            account_id=repository.account_id,
            channels=[user_channel(repository.user_id)],
        ),
    )


async def mark_read(
    session: AsyncSession, repository: NotificationRepository, notification: Notification
) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
        await _announce(session, repository, EventName.NOTIFICATION_UPDATED, notification)


async def conversation_seen(session: AsyncSession, conversation: Conversation, user_id: int) -> None:
    """The user has the conversation open: its notifications for them are read (each one announced, so the
    bell of every tab follows)."""
    repository = NotificationRepository(session, conversation.account_id, user_id)
    unread = repository.select().where(
        Notification.conversation_id == conversation.id, Notification.read_at.is_(None)
    )
    for notification in await repository.list(unread):
        await mark_read(session, repository, notification)


async def mark_all_read(
    session: AsyncSession, repository: NotificationRepository, *, conversation_display_id: int | None = None
) -> None:
    """Every unread notification, or those about one conversation (by display_id; another account's: 404)."""
    conversation_id = None
    if conversation_display_id is not None:
        conversations = ConversationRepository(session, repository.account_id)
        conversation_id = (await conversations.get_by_display_id_or_404(conversation_display_id)).id
    await repository.mark_all_read(utcnow(), conversation_id=conversation_id)


async def delete(
    session: AsyncSession, repository: NotificationRepository, notification: Notification
) -> None:
    notification_id = notification.id
    await repository.delete(notification)
    unread, count = await repository.counts()
    publish(
        session,
        Event(
            EventName.NOTIFICATION_DELETED,
            {"notification": {"id": notification_id}, "unread_count": unread, "count": count},
            account_id=repository.account_id,
            channels=[user_channel(repository.user_id)],
        ),
    )
