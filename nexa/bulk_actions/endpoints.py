"""POST /bulk_actions: one request changes many conversations (Chatwoot's BulkActionsController)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.bulk_actions import service
from nexa.bulk_actions.schemas import BulkActionAccepted, BulkActionCreate
from nexa.conversations import service as conversations

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["conversations"])

# Members only, as in Chatwoot (not one of an agent bot's endpoints).
ConversationsWrite = Annotated[AccountContext, Depends(authorize("conversations:write"))]


@router.post("/bulk_actions", response_model=BulkActionAccepted)
async def create_bulk_action(body: BulkActionCreate, ctx: ConversationsWrite, session: DbSession) -> BulkActionAccepted:
    """Set `fields` (status, assignee_id, team_id) or add/remove `labels` on the conversations `ids`
    (display ids). Everything is checked now, then applied by a job: the answer is `{}` at once, and
    each conversation changes as if it had been changed on its own (events, activity lines, reports).
    An id the caller cannot see (another account's, an inbox an agent is not in) answers 404."""
    assert ctx.user is not None
    await service.request(
        session, ctx.account_id, body, actor=conversations.Actor(user_id=ctx.user.id),
        agent_id=conversations.agent_id_of(ctx),
    )
    return BulkActionAccepted()
