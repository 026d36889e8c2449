"""Bulk actions: a selection of conversations is checked in the request and changed by a job, through the
same service functions a single conversation's actions use, so each conversation gets its events,
activity lines, reporting events and webhooks exactly as if it had been changed on its own.

Rules (Chatwoot's shapes; where Chatwoot is silent, our choices):
- every id must be a conversation the caller may see, else 404 for the whole request (another account's
  id is as unknown as a missing one; an agent sees the inboxes they are a member of);
- an assignee must be assignable in the inbox of every selected conversation (422), a team must exist (404);
- at most MAX_IDS ids per request (422); snoozing needs snoozed_until (422);
- fields are applied in the order team, status, assignee: an assignee sent with `open` (null too) is
  what the conversation ends with, though opening it may first self-assign the agent, as a single
  toggle_status does; labels are added and removed, the others kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.repository import MembershipRepository
from nexa.bulk_actions.schemas import BulkActionCreate
from nexa.conversations import service as conversations
from nexa.conversations.models import Conversation, ConversationStatus
from nexa.conversations.repository import ConversationRepository
from nexa.inboxes.repository import InboxRepository
from nexa.jobs.enqueue import enqueue
from nexa.kit.clock import from_unix
from nexa.kit.errors import NexaError, NotFound, UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.teams.repository import TeamRepository

logger = logging.getLogger(__name__)

BULK_JOB = "bulk_actions.apply"


async def request(
    session: AsyncSession, account_id: int, body: BulkActionCreate, *, actor: conversations.Actor, agent_id: int | None
) -> None:
    """Check the whole request and enqueue its job in the caller's transaction."""
    fields = body.fields.model_dump(exclude_unset=True) if body.fields is not None else {}
    labels = body.labels.model_dump() if body.labels is not None else None
    if not fields and not (labels and (labels["add"] or labels["remove"])):
        raise UnprocessableEntity(_("Send fields or labels to change"))
    status = ConversationStatus(fields["status"]) if fields.get("status") is not None else None
    conversations.require_snooze_time(status, from_unix(fields.get("snoozed_until")))
    repository = ConversationRepository(session, account_id)
    wanted = set(body.ids)
    statement = await conversations.visible_to(
        session, repository.select().where(Conversation.display_id.in_(wanted)), account_id, agent_id=agent_id
    )
    found = (await session.execute(statement.with_only_columns(Conversation.id, Conversation.inbox_id))).all()
    if len(found) != len(wanted):
        raise NotFound()
    if fields.get("assignee_id") is not None:
        await conversations.assignable_membership(
            session, account_id, {inbox_id for _, inbox_id in found}, fields["assignee_id"]
        )
    if fields.get("team_id") is not None:
        await TeamRepository(session, account_id).get_or_404(fields["team_id"])
    await enqueue(
        session, BULK_JOB,
        {"conversation_ids": sorted(id for id, _ in found), "user_id": actor.user_id, "fields": fields, "labels": labels},
        account_id=account_id,
    )


async def apply(
    session: AsyncSession, account_id: int, conversation_ids: Sequence[int], *, actor: conversations.Actor,
    fields: dict[str, Any], labels: dict[str, list[str]] | None,
) -> bool:
    """Change each of the conversations; one that cannot take the change (it was deleted, its assignee
    left the inbox since the request) is skipped and logged, and the others still change. Running it
    again changes nothing more: every step is a no-op on a conversation that already has the value.

    False, changing nothing, when the user who asked has left the account since."""
    assert actor.user_id is not None
    if await MembershipRepository(session, account_id).get_for_user(actor.user_id) is None:
        return False
    repository = ConversationRepository(session, account_id)
    statement = repository.select().where(Conversation.id.in_(conversation_ids)).order_by(Conversation.id)
    for conversation in await repository.list(statement):
        try:
            async with session.begin_nested():
                await _apply_one(session, conversation, actor=actor, fields=fields, labels=labels)
        except NexaError as exc:
            logger.warning(
                "bulk action skipped a conversation",
                extra={"conversation_id": conversation.id, "reason": exc.message},
            )
    return True


async def _apply_one(
    session: AsyncSession, conversation: Conversation, *, actor: conversations.Actor, fields: dict[str, Any],
    labels: dict[str, list[str]] | None,
) -> None:
    inbox = await InboxRepository(session, conversation.account_id).get_or_404(conversation.inbox_id)
    if "team_id" in fields:
        await conversations.assign_team(session, conversation, fields["team_id"], actor=actor)
    if fields.get("status") is not None:
        await conversations.change_status(
            session, conversation, ConversationStatus(fields["status"]), actor=actor, inbox=inbox,
            snoozed_until=from_unix(fields.get("snoozed_until")),
        )
    if "assignee_id" in fields:
        await conversations.assign_agent(session, conversation, fields["assignee_id"], inbox=inbox, actor=actor)
    if labels is not None:
        await conversations.change_labels(session, conversation, add=labels["add"], remove=labels["remove"], actor=actor)

