from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import selectinload

from nexa.contacts.models import Contact
from nexa.conversations.models import (
    PRIORITY_RANK,
    Attachment,
    Conversation,
    ConversationLabel,
    ConversationParticipant,
    ConversationStatus,
    Message,
    MessageStatus,
    MessageType,
    Priority,
)
from nexa.db.dialect import json_text
from nexa.kit.errors import NotFound
from nexa.kit.filters import Attribute, FilterCondition, build_where
from nexa.kit.params import LIKE_ESCAPE, like_pattern
from nexa.labels.repository import TaggingRepository
from nexa.tenancy.repository import AccountRepository, MemberSetRepository

_PRIORITY_ORDER = case({p.value: rank for p, rank in PRIORITY_RANK.items()}, value=Conversation.priority)


class ConversationRepository(AccountRepository[Conversation]):
    model = Conversation

    async def get_by_display_id(self, display_id: int) -> Conversation | None:
        return await self.session.scalar(self.select().where(Conversation.display_id == display_id))

    async def get_by_display_id_or_404(self, display_id: int) -> Conversation:
        found = await self.get_by_display_id(display_id)
        if found is None:
            raise NotFound()
        return found

    async def latest_for_contact_inbox(self, contact_inbox_id: int) -> Conversation | None:
        statement = (
            self.select().where(Conversation.contact_inbox_id == contact_inbox_id).order_by(Conversation.id.desc()).limit(1)
        )
        return await self.session.scalar(statement)

    def for_contact(self, contact_id: int) -> Select[tuple[Conversation]]:
        return self.select().where(Conversation.contact_id == contact_id).order_by(Conversation.id.desc())

    async def counts(self, statement: Select[tuple[Conversation]], user_id: int | None) -> dict[str, int]:
        """mine / assigned / unassigned / all over the filtered list, in one query."""
        rows = statement.order_by(None).subquery()
        assigned = rows.c.assignee_id.is_not(None)
        query = select(
            func.count(),
            func.coalesce(func.sum(case((rows.c.assignee_id == (user_id or -1), 1), else_=0)), 0),
            func.coalesce(func.sum(case((assigned, 1), else_=0)), 0),
        ).select_from(rows)
        total, mine, assigned_count = (await self.session.execute(query)).one()
        return {
            "mine_count": int(mine),
            "assigned_count": int(assigned_count),
            "unassigned_count": int(total) - int(assigned_count),
            "all_count": int(total),
        }


def filter_attributes(account_id: int) -> dict[str, Attribute]:
    """What POST /conversations/filter (and automation conditions) may test, beyond custom attributes."""

    def has_any_label(titles: Sequence[str] | None) -> ColumnElement[bool]:
        labelled = select(ConversationLabel.id).where(
            ConversationLabel.account_id == account_id, ConversationLabel.conversation_id == Conversation.id
        )
        return exists(labelled if titles is None else labelled.where(ConversationLabel.title.in_(titles)))

    extra = Conversation.additional_attributes
    return {
        "status": Attribute("text", Conversation.status, choices=frozenset(s.value for s in ConversationStatus)),
        "priority": Attribute("text", Conversation.priority, choices=frozenset(p.value for p in Priority)),
        "assignee_id": Attribute("number", Conversation.assignee_id),
        "inbox_id": Attribute("number", Conversation.inbox_id),
        "team_id": Attribute("number", Conversation.team_id),
        "contact_id": Attribute("number", Conversation.contact_id),
        "display_id": Attribute("number", Conversation.display_id),
        "labels": Attribute("labels", has_any_label=has_any_label),
        "created_at": Attribute("date", Conversation.created_at),
        "last_activity_at": Attribute("date", Conversation.last_activity_at),
        "browser_language": Attribute("text", json_text(extra, "browser_language")),
        "conversation_language": Attribute("text", json_text(extra, "conversation_language")),
        "referer": Attribute("text", json_text(extra, "referer")),
    }


def filtered(statement: Select[tuple[Conversation]], conditions: Sequence[FilterCondition], account_id: int) -> Select[tuple[Conversation]]:
    return statement.where(build_where(conditions, filter_attributes(account_id), Conversation.custom_attributes))


def with_message_matching(
    statement: Select[tuple[Conversation]], term: str, account_id: int
) -> Select[tuple[Conversation]]:
    """Conversations with a message whose content contains `term` (case-insensitive)."""
    # The pattern is inlined, not bound: PostgreSQL's generic plan for a bound pattern (from a prepared
    # statement's 6th run) guesses thousands of matches and reads every conversation of the account
    # instead of asking the trigram index (migration 0004) for the few that match.
    pattern = bindparam("message_pattern", like_pattern(term), literal_execute=True)
    matching = select(Message.conversation_id).where(
        Message.account_id == account_id,
        func.lower(Message.content).like(pattern, escape=LIKE_ESCAPE),
    )
    return statement.where(Conversation.id.in_(matching))


def with_text_matching(
    statement: Select[tuple[Conversation]], term: str, account_id: int
) -> Select[tuple[Conversation]]:
    """The inbox's search box: the contact's name, email or phone, or a message's content, contains `term`."""
    pattern = like_pattern(term)
    contacts = select(Contact.id).where(
        Contact.account_id == account_id,
        or_(
            func.lower(Contact.name).like(pattern, escape=LIKE_ESCAPE),
            func.lower(Contact.email).like(pattern, escape=LIKE_ESCAPE),
            Contact.phone_number.like(pattern, escape=LIKE_ESCAPE),
        ),
    )
    messages = select(Message.conversation_id).where(
        Message.account_id == account_id, func.lower(Message.content).like(pattern, escape=LIKE_ESCAPE)
    )
    return statement.where(or_(Conversation.contact_id.in_(contacts), Conversation.id.in_(messages)))


def sort_conversations(statement: Select[tuple[Conversation]], sort_by: str | None) -> Select[tuple[Conversation]]:
    """Chatwoot's sort_by values; unknown values fall back to the default, most recent activity first."""
    orders = {
        "last_activity_at_asc": [Conversation.last_activity_at.asc()],
        "created_at_asc": [Conversation.created_at.asc()],
        "created_at_desc": [Conversation.created_at.desc()],
        "priority_asc": [_PRIORITY_ORDER.asc().nulls_last(), Conversation.last_activity_at.desc()],
        "priority_desc": [_PRIORITY_ORDER.desc().nulls_last(), Conversation.last_activity_at.desc()],
        "waiting_since_asc": [Conversation.waiting_since.asc().nulls_last(), Conversation.last_activity_at.desc()],
        "waiting_since_desc": [Conversation.waiting_since.desc().nulls_last(), Conversation.last_activity_at.desc()],
    }
    chosen = orders.get(sort_by or "", [Conversation.last_activity_at.desc()])
    return statement.order_by(*chosen, Conversation.id.desc())


def with_status(statement: Select[tuple[Conversation]], status: str) -> Select[tuple[Conversation]]:
    return statement if status == "all" else statement.where(Conversation.status == ConversationStatus(status))


class ConversationLabelRepository(TaggingRepository[ConversationLabel]):
    model = ConversationLabel
    owner_key = "conversation_id"


class ParticipantRepository(MemberSetRepository[ConversationParticipant]):
    model = ConversationParticipant
    group_column = "conversation_id"


class AttachmentRepository(AccountRepository[Attachment]):
    model = Attachment

    async def of_conversation(self, conversation_id: int) -> Sequence[Attachment]:
        """The conversation's attachments, newest first."""
        statement = (
            self.select()
            .join(Message, Message.id == Attachment.message_id)
            .where(Message.conversation_id == conversation_id)
            .order_by(Attachment.id.desc())
        )
        return await self.list(statement)


MESSAGES_PAGE = 20
MESSAGES_AFTER_LIMIT = 100
MESSAGES_BETWEEN_LIMIT = 1000


class MessageRepository(AccountRepository[Message]):
    model = Message

    async def get_in_conversation(self, conversation_id: int, message_id: int) -> Message | None:
        return await self.session.scalar(
            self.select().where(Message.conversation_id == conversation_id, Message.id == message_id)
        )

    async def attachments_of(self, message_id: int) -> Sequence[Attachment]:
        statement = select(Attachment).where(
            Attachment.account_id == self.account_id, Attachment.message_id == message_id
        ).order_by(Attachment.id)
        return (await self.session.scalars(statement)).all()

    async def last_incoming(self, inbox_id: int, contact_id: int) -> Message | None:
        """The contact's latest message to this inbox, in any of their conversations there."""
        statement = (
            self.select()
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.contact_id == contact_id, Conversation.inbox_id == inbox_id,
                Message.message_type == MessageType.incoming,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        return await self.session.scalar(statement)

    async def last_incoming_in(self, conversation_id: int) -> Message | None:
        statement = (
            self.select()
            .where(Message.conversation_id == conversation_id, Message.message_type == MessageType.incoming)
            .order_by(Message.id.desc())
            .limit(1)
        )
        return await self.session.scalar(statement)

    async def pending_before(self, conversation_id: int, message_id: int) -> Sequence[int]:
        """Ids of the conversation's earlier replies still waiting for the channel, oldest first."""
        statement = (
            select(Message.id)
            .where(
                Message.account_id == self.account_id, Message.conversation_id == conversation_id,
                Message.id < message_id, Message.status == MessageStatus.pending,
            )
            .order_by(Message.id)
        )
        return (await self.session.scalars(statement)).all()

    async def get_by_source_id(self, inbox_id: int, source_id: str) -> Message | None:
        """The message a provider already delivered: inbound retries are deduplicated with this."""
        return await self.session.scalar(self.select().where(Message.inbox_id == inbox_id, Message.source_id == source_id))

    async def page(self, conversation_id: int, *, before: int | None, after: int | None) -> Sequence[Message]:
        """Chatwoot's cursors: latest 20; 20 older than `before`; up to 100 newer than `after`; both: up to
        1000 in between. Always oldest first."""
        statement = self.select().where(Message.conversation_id == conversation_id).options(selectinload(Message.attachments))
        if after is not None:
            statement = statement.where(Message.id > after)
            if before is not None:
                statement = statement.where(Message.id < before)
            limit = MESSAGES_BETWEEN_LIMIT if before is not None else MESSAGES_AFTER_LIMIT
            return await self.list(statement.order_by(Message.id).limit(limit))
        if before is not None:
            statement = statement.where(Message.id < before)
        newest_first = await self.list(statement.order_by(Message.id.desc()).limit(MESSAGES_PAGE))
        return list(reversed(newest_first))

    async def last_chat_messages(self, conversation_ids: Iterable[int]) -> dict[int, Message]:
        """Each conversation's latest customer-visible message (not activity, not private), in two queries."""
        ids = list(conversation_ids)
        if not ids:
            return {}
        latest = (
            select(func.max(Message.id))
            .where(
                Message.account_id == self.account_id,
                Message.conversation_id.in_(ids),
                Message.message_type != MessageType.activity,
                Message.private.is_(False),
            )
            .group_by(Message.conversation_id)
        )
        statement = self.select().where(Message.id.in_(latest)).options(selectinload(Message.attachments))
        return {m.conversation_id: m for m in await self.list(statement)}

    async def unread_counts(self, conversations: Sequence[Conversation]) -> dict[int, int]:
        """Incoming messages an agent has not seen yet, per conversation, in one query."""
        if not conversations:
            return {}
        seen = or_(
            *(
                and_(Message.conversation_id == c.id, Message.created_at > c.agent_last_seen_at)
                if c.agent_last_seen_at is not None
                else Message.conversation_id == c.id
                for c in conversations
            )
        )
        statement = (
            select(Message.conversation_id, func.count())
            .where(Message.account_id == self.account_id, Message.message_type == MessageType.incoming, seen)
            .group_by(Message.conversation_id)
        )
        return {conversation_id: int(count) for conversation_id, count in await self.session.execute(statement)}
