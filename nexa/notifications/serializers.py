"""Notifications as Chatwoot's JSON, built for a whole page with a fixed number of queries."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.conversations import activity
from nexa.conversations.models import Conversation, Message, SenderType
from nexa.conversations.repository import ConversationRepository, MessageRepository
from nexa.conversations.serializers import SenderKey, load_senders_by_key
from nexa.notifications.mentions import readable
from nexa.notifications.models import ActorType, Notification, NotificationType
from nexa.notifications.schemas import NotificationOut, PrimaryActorMeta, PrimaryActorOut

_SENDER_TYPES = {ActorType.user: SenderType.user, ActorType.agent_bot: SenderType.agent_bot}
_TITLE_WORDS = 10  # a mention's title quotes the note's first words, as Chatwoot's does

# The title of each kind of notification, in the account's language (msgid -> locale -> text).
_TITLES: dict[str, dict[str, str]] = {
    "A conversation (#{id}) has been assigned to you": {
        "pt-BR": "Uma conversa (#{id}) foi atribuída a você",
        "es": "Se te asignó una conversación (#{id})",
    },
    "The bot handed you a qualified lead (#{id})": {
        "pt-BR": "O bot passou a você um lead qualificado (#{id})",
        "es": "El bot te pasó un lead calificado (#{id})",
    },
}
_TITLE_OF = {
    NotificationType.conversation_assignment: "A conversation (#{id}) has been assigned to you",
    NotificationType.qualified_lead_handoff: "The bot handed you a qualified lead (#{id})",
}


def push_message_title(
    notification: Notification, conversation: Conversation, note: Message | None, locale: str
) -> str:
    if notification.notification_type == NotificationType.conversation_mention:
        return f"[#{conversation.display_id}] {_first_words(readable(note.content or '') if note else '')}"
    return activity.translate_from(
        _TITLES, _TITLE_OF[notification.notification_type], locale, id=conversation.display_id
    )


def _first_words(text: str) -> str:
    words = re.split(r"\s+", text.strip())
    return " ".join(words[:_TITLE_WORDS]) + ("…" if len(words) > _TITLE_WORDS else "")


def _actor_key(notification: Notification) -> SenderKey | None:
    if notification.secondary_actor_type is None or notification.secondary_actor_id is None:
        return None
    return _SENDER_TYPES[notification.secondary_actor_type], notification.secondary_actor_id


async def notifications_out(
    session: AsyncSession, account_id: int, notifications: Sequence[Notification]
) -> list[NotificationOut]:
    if not notifications:
        return []
    conversation_rows = ConversationRepository(session, account_id)
    conversations = {
        c.id: c
        for c in await conversation_rows.list(
            conversation_rows.select().where(Conversation.id.in_({n.conversation_id for n in notifications}))
        )
    }
    message_rows = MessageRepository(session, account_id)
    note_ids = {n.message_id for n in notifications if n.message_id is not None}
    notes = (
        {m.id: m for m in await message_rows.list(message_rows.select().where(Message.id.in_(note_ids)))}
        if note_ids
        else {}
    )
    actor_keys = {n.id: _actor_key(n) for n in notifications}
    senders = await load_senders_by_key(
        session,
        account_id,
        [
            *((SenderType.user, n.user_id) for n in notifications),
            *((SenderType.contact, c.contact_id) for c in conversations.values()),
            *(key for key in actor_keys.values() if key is not None),
        ],
    )
    locale = await activity.account_locale(session, account_id)
    result = []
    for notification in notifications:
        conversation = conversations[notification.conversation_id]
        actor_key = actor_keys[notification.id]
        note = notes.get(notification.message_id) if notification.message_id is not None else None
        result.append(
            NotificationOut(
                id=notification.id,
                notification_type=notification.notification_type.value,
                push_message_title=push_message_title(notification, conversation, note, locale),
                primary_actor_id=conversation.display_id,
                primary_actor=PrimaryActorOut(
                    id=conversation.display_id,
                    inbox_id=conversation.inbox_id,
                    status=conversation.status.value,
                    meta=PrimaryActorMeta(sender=senders.get((SenderType.contact, conversation.contact_id))),
                ),
                message_id=notification.message_id,
                read_at=notification.read_at.isoformat() if notification.read_at else None,
                secondary_actor=senders.get(actor_key) if actor_key is not None else None,
                user=senders.get((SenderType.user, notification.user_id)),
                created_at=int(notification.created_at.timestamp()),
                account_id=notification.account_id,
            )
        )
    return result
