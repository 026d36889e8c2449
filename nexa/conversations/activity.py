"""Activity lines: what happened to a conversation (assignment, also at creation, team, status, labels,
priority, mute, handoff), written by the server as `activity` messages for the agents. An agent bot set on
an inbox is the inbox's change, not a conversation's: no line.

They are written by the service functions that make the change (nexa/conversations/service.py), so every
path (API, web app, bot, automation, bulk actions) gets them. Like Chatwoot's, a line is stored as text in
the account's language (pt-BR, es or en) when it happens; it never reaches the customer (no delivery, not
on the widget's channel), outgoing webhooks skip it (Chatwoot's `webhook_sendable?`), automation rules do
not react to it, and it does not move `last_activity_at` (nexa/conversations/messages.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.models import User
from nexa.conversations import messages
from nexa.conversations.models import Conversation, ConversationStatus, Message, MessageType, Priority
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import AgentBotRepository
from nexa.kit.i18n import DEFAULT_LOCALE
from nexa.tenancy.models import Account

if TYPE_CHECKING:
    from nexa.conversations.service import Actor

# msgid -> locale -> text. The English text is the key so a missing translation is obvious and readable.
_TEXTS: dict[str, dict[str, str]] = {
    "Assigned to {assignee} by {actor}": {
        "pt-BR": "Atribuída a {assignee} por {actor}",
        "es": "Asignada a {assignee} por {actor}",
    },
    "{actor} self-assigned this conversation": {
        "pt-BR": "{actor} atribuiu esta conversa a si",
        "es": "{actor} se asignó esta conversación",
    },
    "Conversation unassigned by {actor}": {
        "pt-BR": "Conversa desatribuída por {actor}",
        "es": "Conversación desasignada por {actor}",
    },
    "Assigned to {team} team by {actor}": {
        "pt-BR": "Atribuída à equipe {team} por {actor}",
        "es": "Asignada al equipo {team} por {actor}",
    },
    "Unassigned from {team} by {actor}": {
        "pt-BR": "Removida da equipe {team} por {actor}",
        "es": "Quitada del equipo {team} por {actor}",
    },
    "Conversation was marked resolved by {actor}": {
        "pt-BR": "Conversa marcada como resolvida por {actor}",
        "es": "Conversación marcada como resuelta por {actor}",
    },
    "Conversation was reopened by {actor}": {
        "pt-BR": "Conversa reaberta por {actor}",
        "es": "Conversación reabierta por {actor}",
    },
    "Conversation was marked open by {actor}": {
        "pt-BR": "Conversa marcada como aberta por {actor}",
        "es": "Conversación marcada como abierta por {actor}",
    },
    "Conversation was marked as pending by {actor}": {
        "pt-BR": "Conversa marcada como pendente por {actor}",
        "es": "Conversación marcada como pendiente por {actor}",
    },
    "Conversation was snoozed by {actor}": {
        "pt-BR": "Conversa adiada por {actor}",
        "es": "Conversación pospuesta por {actor}",
    },
    "Conversation was resolved by the system": {
        "pt-BR": "Conversa resolvida pelo sistema",
        "es": "Conversación resuelta por el sistema",
    },
    "The system reopened the conversation: the customer wrote again": {
        "pt-BR": "O sistema reabriu a conversa: o cliente escreveu de novo",
        "es": "El sistema reabrió la conversación: el cliente volvió a escribir",
    },
    "{actor} added {labels}": {"pt-BR": "{actor} adicionou {labels}", "es": "{actor} agregó {labels}"},
    "{actor} removed {labels}": {"pt-BR": "{actor} removeu {labels}", "es": "{actor} quitó {labels}"},
    "{actor} set the priority to {priority}": {
        "pt-BR": "{actor} definiu a prioridade como {priority}",
        "es": "{actor} estableció la prioridad en {priority}",
    },
    "{actor} changed the priority from {previous} to {priority}": {
        "pt-BR": "{actor} mudou a prioridade de {previous} para {priority}",
        "es": "{actor} cambió la prioridad de {previous} a {priority}",
    },
    "{actor} removed the priority": {"pt-BR": "{actor} removeu a prioridade", "es": "{actor} quitó la prioridad"},
    "{actor} has muted the conversation": {
        "pt-BR": "{actor} silenciou a conversa", "es": "{actor} silenció la conversación",
    },
    "{actor} has unmuted the conversation": {
        "pt-BR": "{actor} reativou o som da conversa", "es": "{actor} reactivó el sonido de la conversación",
    },
    "The bot handed the conversation to a human: {reason}": {
        "pt-BR": "O bot passou a conversa para um atendente: {reason}",
        "es": "El bot pasó la conversación a un asesor: {reason}",
    },
    "The bot did not answer: handed to the team": {
        "pt-BR": "O bot não respondeu: conversa passada para a equipe",
        "es": "El bot no respondió: conversación pasada al equipo",
    },
    # Who did it when no person did (Chatwoot's "Automation System").
    "System": {"pt-BR": "Sistema", "es": "Sistema"},
    "Automation System": {"pt-BR": "Sistema de automação", "es": "Sistema de automatización"},
    # Priorities.
    "urgent": {"pt-BR": "urgente", "es": "urgente"},
    "high": {"pt-BR": "alta", "es": "alta"},
    "medium": {"pt-BR": "média", "es": "media"},
    "low": {"pt-BR": "baixa", "es": "baja"},
    # Why the bot handed off (nexa.bot.handoff.HandoffReason).
    "qualified lead": {"pt-BR": "lead qualificado", "es": "lead calificado"},
    "the customer asked for a person": {
        "pt-BR": "o cliente pediu um atendente", "es": "el cliente pidió un asesor",
    },
    "the bot could not answer": {"pt-BR": "o bot não soube responder", "es": "el bot no supo responder"},
    "the customer seemed unhappy": {"pt-BR": "o cliente parecia insatisfeito", "es": "el cliente parecía molesto"},
    "a bot rule": {"pt-BR": "uma regra do bot", "es": "una regla del bot"},
}


class Msgid(str):
    """A value that is itself a message to translate (a priority, a handoff reason), not a name."""


def translate(msgid: str, locale: str, **values: object) -> str:
    """`msgid` in `locale` (English for en or a missing translation), formatted with `values`."""
    return translate_from(_TEXTS, msgid, locale, **values)


def translate_from(texts: Mapping[str, Mapping[str, str]], msgid: str, locale: str, **values: object) -> str:
    """`translate` over another table of server-written texts (msgid -> locale -> text)."""
    return texts.get(msgid, {}).get(locale, msgid).format(**values)


async def account_locale(session: AsyncSession, account_id: int) -> str:
    account = await session.get(Account, account_id)  # in the identity map after the request's auth
    return account.locale if account is not None else DEFAULT_LOCALE


async def actor_name(session: AsyncSession, conversation: Conversation, actor: Actor, locale: str) -> str:
    """The person or bot who acted, or the system, as the line names them."""
    if actor.user_id is not None:
        user = await session.get(User, actor.user_id)
        if user is not None:
            return user.available_name
    if actor.agent_bot_id is not None:
        bot = await AgentBotRepository(session, conversation.account_id).get(actor.agent_bot_id)
        if bot is not None:
            return bot.name
    return translate("Automation System" if actor.automation else "System", locale)


async def write(
    session: AsyncSession, conversation: Conversation, msgid: str, *, actor: Actor | None = None, **values: object
) -> Message:
    """Store one activity line in the account's language, in the caller's transaction; `actor` fills
    `{actor}` with who acted."""
    locale = await account_locale(session, conversation.account_id)
    if actor is not None:
        values["actor"] = await actor_name(session, conversation, actor, locale)
    values = {key: translate(value, locale) if isinstance(value, Msgid) else value for key, value in values.items()}
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None
    return await messages.create_message(
        session, conversation, inbox=inbox, message_type=MessageType.activity,
        content=translate(msgid, locale, **values), sender=messages.Sender(),
    )


async def status_changed(
    session: AsyncSession, conversation: Conversation, previous: ConversationStatus, actor: Actor
) -> None:
    status = conversation.status
    if actor.is_system:
        if status == ConversationStatus.resolved:
            await write(session, conversation, "Conversation was resolved by the system")
        elif previous in (ConversationStatus.resolved, ConversationStatus.snoozed):
            await write(session, conversation, "The system reopened the conversation: the customer wrote again")
        elif not (previous == ConversationStatus.pending and status == ConversationStatus.open):
            await write(session, conversation, _STATUS_LINES[status], actor=actor)
        # pending -> open by the system is a handoff: the handoff writes its own line, saying why.
        return
    if status == ConversationStatus.open and previous == ConversationStatus.resolved:
        await write(session, conversation, "Conversation was reopened by {actor}", actor=actor)
    else:
        await write(session, conversation, _STATUS_LINES[status], actor=actor)


_STATUS_LINES = {
    ConversationStatus.resolved: "Conversation was marked resolved by {actor}",
    ConversationStatus.open: "Conversation was marked open by {actor}",
    ConversationStatus.pending: "Conversation was marked as pending by {actor}",
    ConversationStatus.snoozed: "Conversation was snoozed by {actor}",
}


async def assignee_changed(session: AsyncSession, conversation: Conversation, actor: Actor) -> None:
    if conversation.assignee_id is None:
        await write(session, conversation, "Conversation unassigned by {actor}", actor=actor)
    elif conversation.assignee_id == actor.user_id:
        await write(session, conversation, "{actor} self-assigned this conversation", actor=actor)
    else:
        assignee = await session.get(User, conversation.assignee_id)
        name = assignee.available_name if assignee is not None else f"#{conversation.assignee_id}"
        await write(session, conversation, "Assigned to {assignee} by {actor}", actor=actor, assignee=name)


async def team_changed(
    session: AsyncSession, conversation: Conversation, actor: Actor, *, previous: str | None, current: str | None
) -> None:
    if current is not None:
        await write(session, conversation, "Assigned to {team} team by {actor}", actor=actor, team=current)
    elif previous is not None:
        await write(session, conversation, "Unassigned from {team} by {actor}", actor=actor, team=previous)


async def labels_changed(
    session: AsyncSession, conversation: Conversation, actor: Actor, previous: Sequence[str], current: Sequence[str]
) -> None:
    added = [title for title in current if title not in previous]
    removed = [title for title in previous if title not in current]
    if added:
        await write(session, conversation, "{actor} added {labels}", actor=actor, labels=", ".join(added))
    if removed:
        await write(session, conversation, "{actor} removed {labels}", actor=actor, labels=", ".join(removed))


async def priority_changed(
    session: AsyncSession, conversation: Conversation, actor: Actor, previous: Priority | None
) -> None:
    current = conversation.priority
    if current is None:
        await write(session, conversation, "{actor} removed the priority", actor=actor)
    elif previous is None:
        await write(session, conversation, "{actor} set the priority to {priority}", actor=actor,
                    priority=Msgid(current.value))
    else:
        await write(session, conversation, "{actor} changed the priority from {previous} to {priority}",
                    actor=actor, previous=Msgid(previous.value), priority=Msgid(current.value))


async def muted_changed(session: AsyncSession, conversation: Conversation, actor: Actor) -> None:
    msgid = "{actor} has muted the conversation" if conversation.muted else "{actor} has unmuted the conversation"
    await write(session, conversation, msgid, actor=actor)
