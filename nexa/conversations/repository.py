from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased, contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from nexa.auth.models import AccountUser, User
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
from nexa.inboxes.models import ChannelType, Inbox
from nexa.kit.errors import NotFound
from nexa.kit.filters import Attribute, FilterCondition, build_where
from nexa.kit.params import LIKE_ESCAPE, like_pattern
from nexa.labels.repository import TaggingRepository
from nexa.teams.models import Team
from nexa.tenancy.repository import AccountRepository, MemberSetRepository, storable_id

_PRIORITY_ORDER = case({p.value: rank for p, rank in PRIORITY_RANK.items()}, value=Conversation.priority)
# The assignment queue (nexa/bot/assignment.py): open and unassigned, longest waiting first.
QUEUE_ORDER = (Conversation.waiting_since.asc().nulls_last(), Conversation.id.asc())


def in_queue(conversation: Conversation) -> bool:
    return conversation.status == ConversationStatus.open and conversation.assignee_id is None


@dataclass(frozen=True)
class ListedDetails:
    """What a listed conversation shows besides its own columns (ConversationRepository.details)."""

    contact: Contact
    channel_type: ChannelType
    assignee: AccountUser | None  # its user loaded
    team: Team | None
    labels: list[str]  # by title
    last_message: Message | None  # latest customer-visible message, attachments loaded
    unread_count: int
    last_incoming_at: datetime | None  # only for channels with a service window: the contact's latest message to the inbox
    queue_position: int | None  # 1 = next to be assigned in the account; only while open and unassigned


class ConversationRepository(AccountRepository[Conversation]):
    model = Conversation

    async def get_by_display_id(self, display_id: int) -> Conversation | None:
        if not storable_id(display_id):
            return None
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

    async def details(
        self, conversations: Sequence[Conversation], window_channels: Collection[ChannelType]
    ) -> dict[int, ListedDetails]:
        """Everything a page of conversations shows, by conversation id, in one statement (plus one for the
        attachments of the last messages that have any): contact, channel, assignee, team, labels, last
        message, unread count, the customer's last message time where the channel has a reply window, and
        the position in the account's assignment queue (one window function, joined only when the page
        holds a waiting conversation)."""
        if not conversations:
            return {}
        statement = _details_statement(frozenset(window_channels), any(in_queue(c) for c in conversations))
        parameters = {"account_id": self.account_id, "conversation_ids": [c.id for c in conversations]}
        rows = (await self.session.execute(statement, parameters)).all()
        with_files = [row.last_message for row in rows if row.last_message is not None and row.has_files]
        attachments: dict[int, list[Attachment]] = {}
        if with_files:
            found = await self.session.scalars(
                select(Attachment)
                .where(Attachment.account_id == self.account_id, Attachment.message_id.in_([m.id for m in with_files]))
                .order_by(Attachment.id)
            )
            for attachment in found:
                attachments.setdefault(attachment.message_id, []).append(attachment)
        result = {}
        for row in rows:
            if row.last_message is not None:
                set_committed_value(row.last_message, "attachments", attachments.get(row.last_message.id, []))
            result[row.id] = ListedDetails(
                contact=row.Contact, channel_type=row.channel_type, assignee=row.assignee, team=row.Team,
                labels=sorted(row.labels.split(_LABEL_SEPARATOR)) if row.labels else [], last_message=row.last_message, unread_count=int(row.unread or 0), last_incoming_at=row.last_incoming_at,
                queue_position=row.position,
            )
        return result


# Joins a conversation's label titles in one column (string_agg / group_concat); titles are typed text.
_LABEL_SEPARATOR = "\x1f"


@cache
def _details_statement(window_channels: frozenset[ChannelType], queued: bool) -> Select[Any]:
    """ConversationRepository.details' statement, built once per shape (building it costs more than running it);
    binds `account_id` and `conversation_ids`."""
    account_id = bindparam("account_id")
    last = aliased(Message, name="last_message")
    assignee = aliased(AccountUser, name="assignee")
    assignee_user = aliased(User, name="assignee_user")
    latest_id = (
        select(func.max(Message.id))
        .where(
            Message.conversation_id == Conversation.id, Message.message_type != MessageType.activity,
            Message.private.is_(False),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    unread = (
        select(func.count())
        .where(
            Message.conversation_id == Conversation.id, Message.message_type == MessageType.incoming,
            or_(Conversation.agent_last_seen_at.is_(None), Message.created_at > Conversation.agent_last_seen_at),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    # The same rule as nexa.channels.outbound.service_window_closes_at: any conversation of the contact in
    # the inbox counts (ix_conversations_contact, ix_messages_conversation_id).
    others = aliased(Conversation, name="others")
    last_incoming = (
        select(func.max(Message.created_at))
        .join(others, others.id == Message.conversation_id)
        .where(
            others.contact_id == Conversation.contact_id, others.inbox_id == Conversation.inbox_id,
            Message.message_type == MessageType.incoming,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    labels = (
        select(func.aggregate_strings(ConversationLabel.title, _LABEL_SEPARATOR))
        .where(ConversationLabel.conversation_id == Conversation.id)  # uq_conversation_labels_conversation_id_title
        .correlate(Conversation)
        .scalar_subquery()
    )
    statement = (
        select(
            Conversation.id, Contact, Inbox.channel_type, assignee, Team, labels.label("labels"), last,
            exists().where(Attachment.message_id == last.id).correlate(last).label("has_files"),
            unread.label("unread"),
            case((Inbox.channel_type.in_(sorted(window_channels)), last_incoming), else_=None).label("last_incoming_at")
            if window_channels else literal(None).label("last_incoming_at"),
        )
        .join(Contact, (Contact.id == Conversation.contact_id) & (Contact.account_id == Conversation.account_id))
        .join(Inbox, (Inbox.id == Conversation.inbox_id) & (Inbox.account_id == Conversation.account_id))
        .outerjoin(
            assignee, (assignee.user_id == Conversation.assignee_id) & (assignee.account_id == Conversation.account_id)
        )
        .outerjoin(assignee_user, assignee_user.id == assignee.user_id)
        .outerjoin(Team, (Team.id == Conversation.team_id) & (Team.account_id == Conversation.account_id))
        .outerjoin(last, last.id == latest_id)
        .options(contains_eager(assignee.user.of_type(assignee_user)))
        .where(Conversation.account_id == account_id, Conversation.id.in_(bindparam("conversation_ids", expanding=True)))
    )
    if not queued:
        return statement.add_columns(literal(None).label("position"))
    # Every waiting conversation of the account is ranked once (ix_conversations_account_assignee_status
    # finds them) and the page's rows pick their rank. MATERIALIZED: inlined, PostgreSQL re-ranked the
    # whole queue for each row of the page.
    queue = (
        select(Conversation.id, func.row_number().over(order_by=QUEUE_ORDER).label("position"))
        .where(
            Conversation.account_id == account_id, Conversation.status == ConversationStatus.open,
            Conversation.assignee_id.is_(None),
        )
        .cte("queue")
        .prefix_with("MATERIALIZED")
    )
    return statement.add_columns(queue.c.position).outerjoin(queue, queue.c.id == Conversation.id)


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
        if not storable_id(message_id):
            return None
        return await self.session.scalar(
            self.select().where(Message.conversation_id == conversation_id, Message.id == message_id)
        )

    async def with_attachments(self, ids: Iterable[int]) -> dict[int, Message]:
        """The messages of `ids` with their attachments loaded (a select per table), by id."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        statement = self.select().where(Message.id.in_(wanted)).options(selectinload(Message.attachments))
        return {message.id: message for message in await self.list(statement)}

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
