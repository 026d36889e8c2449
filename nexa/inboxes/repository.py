from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import undefer

from nexa.agent_bots.models import AgentBot
from nexa.auth.models import AccountUser, Role
from nexa.inboxes.models import ChannelType, Inbox, InboxMember
from nexa.tenancy.repository import AccountRepository, MemberSetRepository, Repository


class InboxRepository(AccountRepository[Inbox]):
    """Inboxes come without their WhatsApp templates (a deferred column, see the model): the queries for
    the inbox's API shape (nexa.inboxes.serializers.inbox_out) and for template sends load them."""

    model = Inbox

    async def ordered(self, only_ids: Iterable[int] | None = None) -> Sequence[Inbox]:
        """The inboxes by id, with their templates: they are listed as the API shows them."""
        statement = self.select().options(undefer(Inbox.message_templates)).order_by(Inbox.id)
        if only_ids is not None:
            statement = statement.where(Inbox.id.in_(list(only_ids)))
        return await self.list(statement)

    async def with_templates_or_404(self, inbox_id: int) -> Inbox:
        """The inbox with its templates loaded, to show it (inbox_out)."""
        inbox = await self.get_or_404(inbox_id)
        await self.load_templates(inbox)
        return inbox

    async def load_templates(self, inbox: Inbox) -> None:
        """Load the templates of an inbox loaded without them; no query when they are loaded already."""
        if "message_templates" in inspect(inbox).unloaded:
            await self.session.refresh(inbox, ["message_templates"])


class InboxMemberRepository(MemberSetRepository[InboxMember]):
    model = InboxMember
    group_column = "inbox_id"

    async def inbox_ids_of_user(self, user_id: int) -> list[int]:
        statement = select(InboxMember.inbox_id).where(
            InboxMember.account_id == self.account_id, InboxMember.user_id == user_id
        )
        return sorted((await self.session.scalars(statement)).all())

    async def is_member(self, inbox_id: int, user_id: int) -> bool:
        return (
            await self.session.scalar(
                select(InboxMember.id).where(
                    InboxMember.account_id == self.account_id,
                    InboxMember.inbox_id == inbox_id,
                    InboxMember.user_id == user_id,
                )
            )
            is not None
        )

    async def assignable_user_ids(self, inbox_id: int) -> list[int]:
        """Inbox members plus the account's administrators, who may work every inbox (as in Chatwoot)."""
        admins = select(AccountUser.user_id).where(
            AccountUser.account_id == self.account_id, AccountUser.role.in_([Role.owner, Role.administrator])
        )
        return sorted(set(await self.user_ids(inbox_id)) | set((await self.session.scalars(admins)).all()))


class AgentBotRepository(AccountRepository[AgentBot]):
    model = AgentBot


class PublicInboxRepository(Repository[Inbox]):
    """Finds an inbox by its public id, the only key a provider's webhook or a widget visitor carries.

    The public id is random and unguessable, so it both names the inbox and establishes the tenant; every
    query after that goes through the account's repositories.
    """

    model = Inbox

    async def get_by_public_id(self, public_id: str) -> Inbox | None:
        return await self.session.scalar(select(Inbox).where(Inbox.public_id == public_id))


class TemplateSyncRepository(Repository[Inbox]):
    """Every account's WhatsApp Cloud inboxes, for the periodic template re-sync: a system job that serves
    all tenants and reads ids only; each sync then runs in its inbox's account (nexa.inboxes.jobs)."""

    model = Inbox

    async def due(self, attempted_before: datetime, *, limit: int) -> list[tuple[int, int]]:
        """(inbox id, account id) of the inboxes whose last sync ran before `attempted_before`, or never; the
        longest waiting first."""
        attempted_at = Inbox.message_templates_sync_attempted_at
        statement = (
            select(Inbox.id, Inbox.account_id)
            .where(
                Inbox.channel_type == ChannelType.whatsapp_cloud,
                or_(attempted_at.is_(None), attempted_at < attempted_before),
            )
            .order_by(attempted_at.is_not(None), attempted_at, Inbox.id)
            .limit(limit)
        )
        return [
            (inbox_id, account_id) for inbox_id, account_id in (await self.session.execute(statement)).all()
        ]
