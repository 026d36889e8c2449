from __future__ import annotations

import collections
import functools
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Integer, Select, Update, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.models import AssignmentCursor, BotConversation, BotSettings
from nexa.bot.rules.models import BotRule
from nexa.contacts.models import Contact
from nexa.conversations.models import Conversation, ConversationStatus, Message
from nexa.conversations.repository import QUEUE_ORDER, MessageRepository
from nexa.db.dialect import is_postgres, one_of
from nexa.db.engine import execute_at_commit
from nexa.db.types import UTCDateTime
from nexa.inboxes.models import Inbox
from nexa.tenancy.repository import AccountRepository


_RULE_USES = "nexa.bot.rule_uses"


class TurnRows(NamedTuple):
    message: Message
    conversation: Conversation
    inbox: Inbox
    contact: Contact
    state: BotConversation | None
    settings: BotSettings | None


class BotSettingsRepository(AccountRepository[BotSettings]):
    model = BotSettings

    async def current(self) -> BotSettings | None:
        return await self.session.scalar(self.select())

    async def get_or_create(self) -> BotSettings:
        return await self.current() or await self.add(BotSettings(config={}, rules_version=0))

    async def rules_version(self) -> tuple[int, int, float]:
        """Changes with every change to the account's rules (the row's id and time too, so a recreated
        account never meets an older account's cache entry)."""
        columns = BotSettings.id, BotSettings.rules_version, BotSettings.updated_at
        found = (await self.session.execute(self.select().with_only_columns(*columns))).first()
        return (found[0], found[1], found[2].timestamp()) if found else (0, 0, 0.0)


class BotRuleRepository(AccountRepository[BotRule]):
    model = BotRule

    async def ordered(self) -> Sequence[BotRule]:
        return await self.list(self.select().order_by(BotRule.priority, BotRule.id))

    def count_use(self, rule_id: int, at: object) -> None:
        # A plain UPDATE: a counter must not race with itself, and it is no change to the rule (no cache
        # bump). At commit: every turn answered by this rule updates this one row, and its lock would
        # otherwise make those turns wait for each other's whole transactions. Several turns in one
        # transaction (a chunk of them) add up to one UPDATE; a session is one transaction, so its count
        # starts at zero.
        uses = self.session.info.setdefault(_RULE_USES, collections.Counter())
        uses[rule_id] += 1
        execute_at_commit(
            self.session, _count_use_statement(),
            {"p_account_id": self.account_id, "p_rule_id": rule_id, "p_uses": uses[rule_id], "p_at": at},
            key=(_RULE_USES, rule_id),
        )


@functools.cache
def _count_use_statement() -> Update:
    # Built once, with bound values: building it for every turn was ~6 % of the bot worker (py-spy, full loop).
    return (
        update(BotRule)
        .where(BotRule.account_id == bindparam("p_account_id"), BotRule.id == bindparam("p_rule_id"))
        .values(
            usage_count=BotRule.usage_count + bindparam("p_uses", type_=Integer),
            last_used_at=bindparam("p_at", type_=UTCDateTime), updated_at=BotRule.updated_at,
        )
    )


@functools.cache
def _turn_rows_statement(postgres: bool) -> Select[tuple[Message, Conversation, Inbox, Contact, BotConversation, BotSettings]]:
    # Built once, with bound values: a turn runs for every customer message, and building this statement
    # took about 5 % of the bot worker's CPU in the full-loop profile.
    account_id = bindparam("account_id")
    return (
        select(Message, Conversation, Inbox, Contact, BotConversation, BotSettings)
        .join(Conversation, (Conversation.id == Message.conversation_id) & (Conversation.account_id == account_id))
        .join(Inbox, (Inbox.id == Conversation.inbox_id) & (Inbox.account_id == account_id))
        .join(Contact, (Contact.id == Conversation.contact_id) & (Contact.account_id == account_id))
        .outerjoin(
            BotConversation,
            (BotConversation.conversation_id == Conversation.id) & (BotConversation.account_id == account_id),
        )
        .outerjoin(BotSettings, BotSettings.account_id == account_id)
        .where(Message.account_id == account_id, one_of(Message.id, "message_ids", postgres=postgres))
    )


@functools.cache
def _lock_statement(postgres: bool) -> Select[tuple[int]]:
    return (
        select(Conversation.id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.account_id == bindparam("account_id"), one_of(Conversation.id, "ids", postgres=postgres))
        .order_by(Conversation.id)
        .with_for_update(of=(Conversation, Contact), skip_locked=True)
    )


class BotConversationRepository(AccountRepository[BotConversation]):
    model = BotConversation

    async def turn_rows(self, message_ids: Sequence[int]) -> dict[int, TurnRows]:
        """Everything the bot turns for these customer messages read, by message id, in one statement: a
        turn runs for every message while the bot has the conversation."""
        rows = await self.session.execute(
            _turn_rows_statement(is_postgres(self.session)), {"account_id": self.account_id, "message_ids": list(message_ids)}
        )
        return {row[0].id: TurnRows(*row) for row in rows}

    async def lock_unheld_conversations(self, conversation_ids: Sequence[int]) -> set[int]:
        """Lock these conversations and their contacts (in id order), skipping those another transaction
        holds; the ids of the ones locked. SQLite has one writer at a time: there, all of them."""
        return set(
            await self.session.scalars(_lock_statement(is_postgres(self.session)), {"account_id": self.account_id, "ids": list(conversation_ids)})
        )

    async def for_conversation(self, conversation_id: int) -> BotConversation:
        found = await self.session.scalar(self.select().where(BotConversation.conversation_id == conversation_id))
        return found or self.start(conversation_id)

    def start(self, conversation_id: int) -> BotConversation:
        """The state of a conversation the bot has not talked in, added to the session without a round trip:
        inserted at the next flush with the turn's other writes (one INSERT for a chunk's new states), its
        defaults set here so that the turn can read them before."""
        state = BotConversation(
            account_id=self.account_id, conversation_id=conversation_id, answers={}, invalid_answers=0,
            unanswered_questions=0, follow_ups_sent=0,
        )
        self.session.add(state)
        return state


class AssignmentCursorRepository(AccountRepository[AssignmentCursor]):
    model = AssignmentCursor

    async def for_inbox(self, inbox_id: int) -> AssignmentCursor:
        found = await self.session.scalar(self.select().where(AssignmentCursor.inbox_id == inbox_id))
        return found or await self.add(AssignmentCursor(inbox_id=inbox_id))

    async def for_team(self, team_id: int) -> AssignmentCursor:
        found = await self.session.scalar(self.select().where(AssignmentCursor.team_id == team_id))
        return found or await self.add(AssignmentCursor(team_id=team_id))


class QueueRepository(AccountRepository[Conversation]):
    """Open conversations nobody works yet, and each agent's load (ix_conversations_account_assignee_status)."""

    model = Conversation

    def _waiting(self) -> Select[tuple[Conversation]]:
        return self.select().where(Conversation.status == ConversationStatus.open, Conversation.assignee_id.is_(None))

    async def waiting(self, limit: int) -> Sequence[Conversation]:
        return await self.list(self._waiting().order_by(*QUEUE_ORDER).limit(limit))

    async def position(self, conversation: Conversation) -> int:
        """1 for the next conversation to be picked up in its queue: its team's when it has one, else its inbox's."""
        line = (
            Conversation.team_id == conversation.team_id if conversation.team_id is not None
            else Conversation.inbox_id == conversation.inbox_id
        )
        ahead = self._waiting().where(line, Conversation.id != conversation.id)
        if conversation.waiting_since is not None:
            ahead = ahead.where(Conversation.waiting_since < conversation.waiting_since)
        return await self.count(ahead) + 1

    async def open_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        statement = (
            select(Conversation.assignee_id, func.count())
            .where(
                Conversation.account_id == self.account_id, Conversation.status == ConversationStatus.open,
                Conversation.assignee_id.in_(list(user_ids)),
            )
            .group_by(Conversation.assignee_id)
        )
        return {user_id: int(n) for user_id, n in (await self.session.execute(statement)).all()}


async def recent_messages(
    session: AsyncSession, account_id: int, conversation_id: int, limit: int, *, public_only: bool = False
) -> list[Message]:
    """The conversation's last `limit` messages, oldest first (ix_messages_conversation_id)."""
    messages = MessageRepository(session, account_id)
    statement = messages.select().where(Message.conversation_id == conversation_id)
    if public_only:
        statement = statement.where(Message.private.is_(False))
    return list(reversed(await messages.list(statement.order_by(Message.id.desc()).limit(limit))))
